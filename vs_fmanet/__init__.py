"""vs-fmanet: FMA-Net++ joint video super-resolution and deblurring."""
__version__ = "0.1.0"
