"""Rank r of W of a torchrun launch, without processes, for tests of work split over ranks."""


class RankOf:
    """``vaekit.train.distributed.Distributed`` as the estimators use it; the all-reduce is the
    identity, so a test sums the ranks' results itself (``summed`` keeps what each call was given)."""

    def __init__(self, rank: int, world_size: int):
        self.rank, self.world_size, self.summed = rank, world_size, []

    def sum_tensor_over_ranks(self, tensor):
        self.summed.append(tensor.clone())
        return tensor
