"""Training support for FMA-Net++: losses per stage, schedules, checkpoint/weights I/O. Used by scripts/train.py."""
