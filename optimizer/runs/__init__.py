"""What-if runs: scenario files, overrides, sweeps, the sweep runner, the run store and comparisons."""
