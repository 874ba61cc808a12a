"""Solve strategies: how a built model is taken through one or more solver calls."""
