"""vs-fmanet: FMA-Net++ joint video super-resolution and deblurring."""
__version__ = "0.1.0"


def add_version_option(parser) -> None:  # noqa: ANN001 -- an argparse.ArgumentParser; argparse is not imported here
    """``--version`` for every console script: farm nodes must run the same vs-fmanet version (prints and exits 0)."""
    parser.add_argument("--version", action="version", version=f"%(prog)s (vs-fmanet) {__version__}")


def __getattr__(name: str):
    """Lazy front-door names: ``vs_fmanet.restore`` (engine, imports torch) and ``vs_fmanet.fmanet`` (VapourSynth),
    so that ``import vs_fmanet`` needs neither torch nor a configured VapourSynth."""
    if name == "restore":
        from .engine import restore
        return restore
    if name == "fmanet":
        from .vs_plugin import fmanet
        return fmanet
    raise AttributeError(f"module 'vs_fmanet' has no attribute {name!r}")
