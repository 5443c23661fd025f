import pytest
import torch

from vaekit.data import ImageData, iterate_minibatches, split_train_valid


def test_every_index_once_per_epoch():
    batches = list(iterate_minibatches(103, 10, generator=torch.Generator().manual_seed(0)))
    assert [len(batch) for batch in batches] == [10] * 10 + [3]
    assert torch.equal(torch.cat(batches).sort().values, torch.arange(103))
    assert not torch.equal(torch.cat(batches), torch.arange(103))


def test_reproducible_with_a_seeded_generator_and_new_order_each_epoch():
    generator = torch.Generator().manual_seed(7)
    first, second = (torch.cat(list(iterate_minibatches(50, 8, generator=generator))) for _ in range(2))
    replay = torch.cat(list(iterate_minibatches(50, 8, generator=torch.Generator().manual_seed(7))))
    assert torch.equal(first, replay) and not torch.equal(first, second)


def test_drop_last_and_no_shuffle():
    assert [batch.tolist() for batch in iterate_minibatches(7, 3, shuffle=False)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [len(batch) for batch in iterate_minibatches(7, 3, drop_last=True)] == [3, 3]
    assert [len(batch) for batch in iterate_minibatches(9, 3, drop_last=True)] == [3, 3, 3]
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        iterate_minibatches(7, 0)


def _data(size=20):
    images = torch.arange(size, dtype=torch.float32).reshape(size, 1, 1, 1) / size
    return ImageData(images, torch.arange(size), "toy")


def test_split_train_valid_is_a_deterministic_partition():
    train, valid = split_train_valid(_data(), 0.25, seed=3)
    assert len(train) == 15 and len(valid) == 5 and valid.name == "toy-valid"
    assert sorted(train.labels.tolist() + valid.labels.tolist()) == list(range(20))
    assert torch.equal(train.images.flatten() * 20, train.labels.float())
    again, _ = split_train_valid(_data(), 0.25, seed=3)
    other, _ = split_train_valid(_data(), 0.25, seed=4)
    assert torch.equal(again.labels, train.labels) and not torch.equal(other.labels, train.labels)


def test_split_without_validation_and_bad_fractions():
    data = _data()
    train, valid = split_train_valid(data, 0.0, seed=0)
    assert train is data and valid is None
    with pytest.raises(ValueError, match=r"valid_fraction must lie in \[0, 1\), got 1"):
        split_train_valid(data, 1, seed=0)
    with pytest.raises(ValueError, match="leaves 0 for validation"):
        split_train_valid(data, 0.01, seed=0)


def test_image_data_checks_labels():
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\).*got \(2,\)"):
        ImageData(torch.zeros(3, 1, 2, 2), torch.zeros(2, dtype=torch.int64), "bad")
