"""A run folder: its layout, lock, checkpoints, history, card, report, plots and seeds."""
