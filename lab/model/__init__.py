"""What the lab talks about, before any file or process: scenarios, targets, latency histograms."""
