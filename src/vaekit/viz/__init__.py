"""Figures: image grids, latent interpolation and traversals, loss curves (matplotlib, Agg backend)."""
from vaekit.viz.curves import plot_curves
from vaekit.viz.grid import image_grid, labelled_rows, save_image_grid
from vaekit.viz.interpolate import interpolate, slerp
from vaekit.viz.traversal import latent_traversal

__all__ = ["image_grid", "labelled_rows", "save_image_grid", "interpolate", "slerp", "latent_traversal", "plot_curves"]
