"""Figures: image grids, latent interpolation and traversals, 2-D latent maps, loss and diagnostic curves (matplotlib, Agg
backend); self-contained HTML reports (html_page, html_report)."""
from vaekit.viz.curves import diagnostic_columns, plot_curves, plot_diagnostics
from vaekit.viz.grid import image_grid, labelled_rows, save_image_grid
from vaekit.viz.interpolate import interpolate, slerp
from vaekit.viz.latent_map import latent_grid, save_latent_map
from vaekit.viz.traversal import latent_traversal

__all__ = ["image_grid", "labelled_rows", "save_image_grid", "interpolate", "slerp", "latent_traversal", "plot_curves",
           "plot_diagnostics", "diagnostic_columns", "latent_grid", "save_latent_map"]
