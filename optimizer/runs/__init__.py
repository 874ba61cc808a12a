"""What-if runs: scenario files, overrides, sweeps, the sweep runner (its executors and run cache), the run store and comparisons."""
