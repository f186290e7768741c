"""The ``varprop`` command: thin wrappers over the library, no logic of their own.

Bad input exits with status 2 and one line on stderr (no traceback), and writes nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .datasets.cli import register as _add_data
from .figures.cli import register as _add_figures
from .text import format_table
from .training.cli import register as _add_train

DEFAULT_DERIVATIONS = Path("derivations")


class UsageError(ValueError):
    """Bad command-line input: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def _cmd_derive(args) -> int:
    from .resources import writable_folder
    from .symbolic import document

    out = Path(args.out)
    if args.check:
        bad = document.stale(out)
        if bad:
            for rel in bad:
                print(f"stale: {out / rel}", file=sys.stderr)
            print(f"{len(bad)} file(s) in {out} differ from the symbolic source; "
                  f"run 'varprop derive --out {out}'", file=sys.stderr)
            return 1
        print(f"{out}: up to date ({len(document.render())} files)")
        return 0
    writable_folder(out, "--out")
    if args.activation is not None:
        from .criticality import document as activation_document
        from .files import write_bytes_atomic
        text = activation_document(args.activation)      # every error before any writing
        out.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(out / "activation.tex", text.encode("utf-8"))
        print(f"wrote {out / 'activation.tex'}")
        return 0
    paths = document.write(out)
    print(f"wrote {len(paths)} files to {out} (main document: {out / document.MAIN})")
    return 0


def _format_table(pred) -> str:
    head = (f"{pred.theory} prediction: widths {','.join(map(str, pred.widths))}, "
            f"{pred.activation}, {pred.init} init, Var[x]={pred.var_x:g}, "
            f"Var[dC/ds^top]={pred.var_top:g}")
    cols = ["layer", "n_in", "n_out", "Var[W]", "Var[z]", "Var[dC/ds]", "Var[dC/dW]"]
    rows = [[str(r["layer"]), str(r["fan_in"]), str(r["fan_out"]), f"{r['weight_variance']:.4e}",
             f"{r['activation_variance']:.4e}", f"{r['backprop_variance']:.4e}",
             f"{r['weight_gradient_variance']:.4e}"] for r in pred.layers()]
    lines = [head, *format_table(cols, rows)]
    lines.append("Var[z] is the input of layer i (z^0 = x); Var[dC/ds] its pre-activation gradient.")
    return "\n".join(lines)


def _scheme_from_args(args, command: str):
    """--init NAME, or --scale/--mode (with --law) for the general rule (V12)."""
    from .initialization import resolve_scheme
    from .symbolic.schemes import custom_scheme

    if args.scale is not None or args.mode is not None:
        if args.scale is None or args.mode is None:
            raise UsageError(f"varprop {command}: --scale and --mode go together (they replace --init)")
        return custom_scheme(args.scale, args.mode, args.law or "uniform")
    return resolve_scheme(args.init, args.law)


def _cmd_predict(args) -> int:
    from .theory import predict
    from .validation import parse_widths

    widths = parse_widths(args.widths)
    init = _scheme_from_args(args, "predict")
    pred = predict(widths, args.activation, init, args.var_x, args.var_top, theory=args.theory)
    if args.json:
        print(json.dumps(pred.to_dict(), indent=2))
    else:
        print(_format_table(pred))
    return 0


def _add_derive(sub) -> None:
    d = sub.add_parser("derive", help="derive the variance analysis in SymPy and write LaTeX",
                       description=(
                           "Derive every result of the variance analysis (eqs. 5-16 and the "
                           "generalisations) from its stated assumptions and write derivations/: "
                           "varprop.tex (a document pdflatex compiles) and fragments/NAME.tex "
                           "(one per result, for \\input). Output is byte-identical on rerun."))
    d.add_argument("--out", default=str(DEFAULT_DERIVATIONS), metavar="DIR",
                   help="output folder (default: %(default)s)")
    d.add_argument("--activation", default=None, metavar="A",
                   help="write DIR/activation.tex instead: the slope, fixed-point gain and "
                        "order/chaos boundary derived for one activation (a name or an "
                        "expression in x)")
    d.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 naming each file in DIR that differs from the code's output")
    d.set_defaults(func=_cmd_derive)


def _add_activation_argument(p) -> None:
    """--activation: a built-in's name or an expression in x (default tanh)."""
    from .symbolic.activations import ACTIVATIONS

    p.add_argument("--activation", default="tanh", metavar="A",
                   help=f"one of: {', '.join(ACTIVATIONS)}, leaky_relu(a); or an expression "
                        "in x, e.g. 'x*sigmoid(x)' (default: %(default)s)")


def _add_network_arguments(p) -> None:
    """--widths, --activation and the init scheme (--init, --law, or --scale/--mode)."""
    from .symbolic.laws import LAW_NAMES
    from .symbolic.schemes import ALIASES, FAN_MODES, SCHEME_NAMES

    p.add_argument("--widths", required=True, metavar="N0,N1,...",
                   help="layer widths from input to output, e.g. 1024,1000,1000,9")
    _add_activation_argument(p)
    p.add_argument("--init", default="standard", metavar="SCHEME",
                   help=f"one of: {', '.join(SCHEME_NAMES)}; or an alias: "
                        f"{', '.join(ALIASES)} (default: %(default)s)")
    p.add_argument("--law", default=None, metavar="LAW",
                   help=f"weight law: one of {', '.join(LAW_NAMES)} (default: the scheme's own)")
    p.add_argument("--scale", type=str, default=None,
                   help="custom scheme: Var[W] = SCALE / fan (with --mode; replaces --init)")
    p.add_argument("--mode", default=None, metavar="FAN",
                   help=f"custom scheme's fan: one of {', '.join(FAN_MODES)}")


def _add_predict(sub) -> None:
    q = sub.add_parser("predict", help="per-layer variances predicted for a concrete network",
                       description=(
                           "Evaluate the derived linear-regime recurrences (5)-(7) (or, with "
                           "--theory meanfield, the exact infinite-width recursion) for a concrete "
                           "network: per weight layer i, Var[z^i] (its input; z^0 = x), "
                           "Var[dC/ds^i] and Var[dC/dW^i]. Numbers come from code generated from "
                           "the symbolic expressions."),
                       epilog="example: varprop predict --widths 1024,1000,1000,1000,1000,1000,9 "
                              "--activation tanh --init standard")
    _add_network_arguments(q)
    q.add_argument("--var-x", type=str, default="1", help="Var[x] of the inputs (default: 1)")
    q.add_argument("--var-top", type=str, default="1",
                   help="Var[dC/ds] at the top pre-activation (default: 1)")
    q.add_argument("--theory", default="linear", metavar="THEORY",
                   help="linear (the paper's linear regime) or meanfield (exact at infinite "
                        "width) (default: %(default)s)")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(func=_cmd_predict)


def _cmd_check(args) -> int:
    from .check import check, format_report
    from .validation import parse_widths

    widths = parse_widths(args.widths)
    scheme = _scheme_from_args(args, "check")
    rep = check(widths, args.activation, scheme, networks=args.networks, samples=args.samples,
                seed=args.seed, var_x=float(args.var_x), input_law=args.input_law, top=args.top,
                bias_variance=float(args.bias_variance), dtype=args.dtype,
                jacobian_inputs=args.jacobians)
    print(json.dumps(rep.to_dict(), indent=2) if args.json else format_report(rep))
    return 0 if rep.ok else 1


def _add_check(sub) -> None:
    from .choices import INPUT_LAWS, TOP_GRADIENTS

    c = sub.add_parser("check", help="Monte-Carlo measurement against both theories, per layer",
                       description=(
                           "Sample NETWORKS networks at initialisation, pass SAMPLES inputs through "
                           "each (forward and backward), and set the measured per-layer variances "
                           "(with standard errors across networks) beside the linear-regime and the "
                           "mean-field predictions. Exit status 1 when the mean field and the "
                           "measurement disagree beyond a Student-t multiple of the SE (false alarm 1e-4 per "
                           "report) plus a finite-width allowance."),
                       epilog="example: varprop check --widths 1024,1000,1000,1000,1000,1000,9 "
                              "--activation tanh --init standard --networks 16 --samples 1000 --seed 0")
    _add_network_arguments(c)
    c.add_argument("--networks", type=int, default=16, help="networks sampled (default: 16)")
    c.add_argument("--samples", type=int, default=1000, help="inputs per network (default: 1000)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    c.add_argument("--var-x", default="1", help="input variance (default: 1)")
    c.add_argument("--input-law", default="normal", metavar="LAW",
                   help=f"inputs: one of {', '.join(INPUT_LAWS)} (default: %(default)s)")
    c.add_argument("--top", default="softmax", metavar="KIND",
                   help=f"top gradient: one of {', '.join(TOP_GRADIENTS)} (softmax + NLL with random "
                        f"labels, or i.i.d. N(0,1) injected) (default: %(default)s)")
    c.add_argument("--bias-variance", default="0", help="bias variance sigma_b^2 (default: 0)")
    c.add_argument("--dtype", default="float64", help="float32 or float64 (default: %(default)s)")
    c.add_argument("--jacobians", type=int, default=0, metavar="K",
                   help="inputs per network whose layer Jacobians are decomposed by SVD for the "
                        "mean singular value (default: 0; the mean squared one uses every input)")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.set_defaults(func=_cmd_check)


def _number(text, what: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise UsageError(f"varprop: error: {what} must be a number, got {text!r}") from None


def _format_gains(g: dict) -> str:
    def num(v, fmt=".6g"):
        return "undefined" if v is None else format(v, fmt)

    crit = (f"sigma_w^2 = {num(g['critical_weight_variance'])}"
            + (f", q* = {num(g['critical_fixed_point'])}" if g["critical_fixed_point"] is not None
               else "") + f" ({g['critical_note']})"
            if g["critical_weight_variance"] is not None else g["critical_note"])
    rows = [["f(x)", g["expression"]], ["f(0)", num(g["value_at_zero"])],
            ["slope f'(0)", num(g["slope"])],
            ["linear gain (V8/V10)", num(g["linear_gain"])],
            ["fixed-point gain (q* = 1)", num(g["fixed_point_gain"])],
            ["critical point (chi = 1)", crit],
            ["PyTorch calculate_gain", "no entry" if g["pytorch_gain"] is None
             else num(g["pytorch_gain"])],
            ["kinks", ", ".join(f"{k:g}" for k in g["kinks"]) or "none"]]
    width = max(len(label) for label, _ in rows)
    lines = [f"{g['activation']}, sigma_b^2 = {g['bias_variance']:g}:",
             *(f"  {label:<{width}}  {value}" for label, value in rows), g["pytorch_note"]]
    return "\n".join(lines)


def _cmd_gain(args) -> int:
    from .criticality import gains

    g = gains(args.activation, _number(args.bias_variance, "--bias-variance"))
    print(json.dumps(g, indent=2) if args.json else _format_gains(g))
    return 0


def _add_gain(sub) -> None:
    g = sub.add_parser("gain", help="the gains derived for an activation, beside PyTorch's",
                       description=(
                           "Derive from the activation's expression: f(0), the slope f'(0), the "
                           "linear-regime gain 1/f'(0) (V8; sqrt(2/(a_-^2 + a_+^2)) for a "
                           "positively homogeneous f, V10), the fixed-point gain g that makes "
                           "q = 1 the fixed point of the mean-field map for Var[W] = g^2/fan_in "
                           "(V16), and the order/chaos boundary: the sigma_w^2 = n Var[W] where "
                           "chi = 1, with its fixed point q*. PyTorch's calculate_gain is shown "
                           "where it has an entry, with where its gain puts the fixed point."),
                       epilog="example: varprop gain --activation tanh --bias-variance 0.05")
    _add_activation_argument(g)
    g.add_argument("--bias-variance", default="0", metavar="B",
                   help="bias variance sigma_b^2 (default: 0)")
    g.add_argument("--json", action="store_true", help="print JSON instead of a table")
    g.set_defaults(func=_cmd_gain)


PLOT_FORMATS = (".png", ".pdf", ".svg")


def _load_factory(spec: str):
    """FILE.py:FACTORY -> the callable, with one-line errors."""
    import importlib.util

    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name.isidentifier():
        raise UsageError(f"varprop audit: give the model as FILE.py:FACTORY, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"varprop audit: no such file: {path}")
    mod_spec = importlib.util.spec_from_file_location(f"_varprop_audit_{file.stem}", file)
    if mod_spec is None or mod_spec.loader is None:
        raise UsageError(f"varprop audit: {path} is not a Python file")
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except Exception as exc:   # the user's file: report it in one line
        raise UsageError(f"varprop audit: {path} failed to import: "
                         f"{type(exc).__name__}: {exc}") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise UsageError(f"varprop audit: {path} has no function {name!r}")
    return factory


def _cmd_audit(args) -> int:
    try:
        import torch

        from .torch import audit
    except ImportError:
        raise UsageError("varprop audit needs PyTorch: pip install 'varprop[torch]'") from None
    for what, v in (("--input-dim", args.input_dim), ("--batch", args.batch)):
        if v < 1:
            raise UsageError(f"varprop audit: {what} must be a positive integer, got {v}")
    mapping = {}
    for item in args.map or []:
        cls, sep, act = item.partition("=")
        if not sep or not cls or not act:
            raise UsageError(f"varprop audit: --map takes CLASS=ACTIVATION, got {item!r}")
        mapping[cls.strip()] = act.strip()
    if args.plot:     # checked before anything runs: a figure format, a folder to write in
        from .resources import writable_folder

        suffix = Path(args.plot).suffix.lower()
        if suffix not in PLOT_FORMATS:
            raise UsageError(f"varprop audit: --plot {args.plot}: give a file ending in "
                             f"{', '.join(PLOT_FORMATS)}")
        writable_folder(Path(args.plot).expanduser().parent, "--plot")
    factory = _load_factory(args.model)
    torch.manual_seed(args.seed)
    try:
        model = factory()
    except Exception as exc:
        raise UsageError(f"varprop audit: {args.model}() failed: {type(exc).__name__}: {exc}") \
            from None
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"varprop audit: {args.model}() returned {type(model).__name__}, "
                         "not a torch.nn.Module")
    activations = {type(m): mapping[type(m).__name__] for m in model.modules()
                   if type(m).__name__ in mapping}
    if set(mapping) - {type(m).__name__ for m in model.modules()}:
        missing = sorted(set(mapping) - {type(m).__name__ for m in model.modules()})
        raise UsageError(f"varprop audit: --map names {', '.join(missing)}, not in the model")
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    x = torch.randn(args.batch, args.input_dim, generator=torch.Generator().manual_seed(args.seed),
                    dtype=dtype)
    rep = audit(model, x, activations=activations, seed=args.seed)
    if args.plot:
        Path(args.plot).expanduser().parent.mkdir(parents=True, exist_ok=True)
        rep.plot(Path(args.plot).expanduser())
    print(rep.to_json() if args.json else rep.table())
    return 0 if rep.ok in (True, None) else 1


def _add_audit(sub) -> None:
    a = sub.add_parser("audit", help="a PyTorch model's per-layer variances against the theory",
                       description=(
                           "Build the model that FACTORY in FILE.py returns (torch seeded with "
                           "SEED first), pass BATCH inputs N(0, 1) through it with random labels "
                           "(softmax + NLL when it ends in a Linear layer or a LogSoftmax; an "
                           "N(0, 1) gradient at the output when it ends in an activation), and "
                           "set each layer's measured Var[z], Var[dC/ds] and per-example "
                           "Var[dC/dW] beside the linear-regime and mean-field predictions for "
                           "its actual weight variances, naming each layer's initialisation "
                           "(PyTorch's nn.Linear default is the paper's 'standard'). Needs "
                           "PyTorch (pip install 'varprop[torch]'). Exit status 1 when the mean "
                           "field and the measurement disagree beyond the tolerance."),
                       epilog="example: varprop audit examples/mlp.py:tanh_mlp --input-dim 1024 "
                              "--batch 1000 --plot audit.png")
    a.add_argument("model", metavar="FILE.py:FACTORY",
                   help="a Python file and the function in it that returns the model")
    a.add_argument("--input-dim", type=int, required=True, metavar="N",
                   help="input features (the first Linear layer's in_features)")
    a.add_argument("--batch", type=int, default=1000, metavar="B",
                   help="inputs in the batch (default: %(default)s)")
    a.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seeds the model's construction, the inputs and the labels "
                        "(default: %(default)s)")
    a.add_argument("--map", action="append", metavar="CLASS=ACTIVATION",
                   help="read an element-wise module class of the model as a varprop activation, "
                        "e.g. MySwish='x*sigmoid(x)' (repeatable)")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a.add_argument("--plot", metavar="PATH",
                   help="also draw the audit like Fig. V into PATH (.png, .pdf, .svg)")
    a.set_defaults(func=_cmd_audit)


def _cmd_spectrum(args) -> int:
    from .spectrum import compare, format_comparison, measure_spectrum, predict_spectrum
    from .validation import parse_widths

    widths = parse_widths(args.widths)
    if args.networks < 2:
        raise UsageError(f"varprop spectrum: --networks must be at least 2 (the SE is their "
                         f"spread), got {args.networks}")
    scheme = _scheme_from_args(args, "spectrum")
    var_x = _number(args.var_x, "--var-x")
    bias = _number(args.bias_variance, "--bias-variance")
    pred = predict_spectrum(widths, args.activation, scheme, var_x=var_x, bias_variance=bias)
    meas = measure_spectrum(widths, args.activation, scheme, var_x=var_x, bias_variance=bias,
                            networks=args.networks, seed=args.seed, keep_eigenvalues=False)
    c = compare(pred, meas)
    print(json.dumps(c, indent=2) if args.json else format_comparison(c))
    return 0 if c["ok"] else 1


def _add_spectrum(sub) -> None:
    p = sub.add_parser("spectrum", help="the spectrum of J J^T, predicted and measured",
                       description=(
                           "The eigenvalues of J J^T for the input-output Jacobian J = dz^L/dz^0 "
                           "of a network of equal widths: their mean, variance and largest value "
                           "predicted by free probability (S-transforms of the weights' and of "
                           "f'(s)^2's spectra, each layer at its mean-field q; V19-V22) and "
                           "measured on NETWORKS sampled networks (one input each; SE across "
                           "networks). Gaussian theory for i.i.d. laws, orthogonal for the "
                           "orthogonal law. Exit status 1 when they disagree beyond a Student-t "
                           "multiple of the SE plus a finite-width allowance."),
                       epilog="example: varprop spectrum --widths 500,500,500,500 --activation "
                              "tanh --init orthogonal --networks 8")
    _add_network_arguments(p)
    p.add_argument("--networks", type=int, default=8, help="networks sampled (default: 8)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--var-x", default="1", help="input variance (default: 1)")
    p.add_argument("--bias-variance", default="0", help="bias variance sigma_b^2 (default: 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_spectrum)


def _numbers(text, what: str, count: int | None = None) -> list[float]:
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    values = [_number(p, what) for p in parts]
    if not values or (count is not None and len(values) != count):
        want = f"{count} numbers" if count else "numbers"
        raise UsageError(f"varprop: error: {what} takes {want} separated by commas, got {text!r}")
    return values


def _cmd_phase(args) -> int:
    from .phase import boundary, depth_scales, measure_correlation_map, phase_grid

    import numpy as np

    w_lo, w_hi = _numbers(args.weight_range, "--weight-range", 2)
    b_lo, b_hi = _numbers(args.bias_range, "--bias-range", 2)
    if not (0 < w_lo < w_hi and 0 <= b_lo < b_hi):
        raise UsageError("varprop: error: ranges must be increasing, weight variances positive "
                         "and bias variances non-negative")
    if args.grid < 2:
        raise UsageError(f"varprop: error: --grid must be at least 2, got {args.grid}")
    weights = [float(v) for v in _numbers(args.measure, "--measure")]
    sb2 = _number(args.measure_bias, "--measure-bias")
    c_in = _number(args.c_in, "--c-in")
    w = np.linspace(w_lo, w_hi, args.grid)
    b = np.linspace(b_lo, b_hi, args.grid)
    grid = phase_grid(args.activation, w, b)
    edge = boundary(args.activation, b)
    rows = []
    ok = True
    for k, wv in enumerate(weights):
        point = phase_grid(args.activation, [wv], [sb2])
        q_star = float(point.fixed_point[0, 0])
        # no finite, non-zero q* (lengths grow without bound, or shrink to 0): start at q = 1
        # and let the theory iterate q with c
        q0 = None if 0 < q_star < np.inf else 1.0
        m = measure_correlation_map(args.activation, wv, sb2, [c_in], args.width, args.depth,
                                    args.networks, args.seed + k, q=q0)
        xi_q, xi_c = depth_scales(args.activation, wv, sb2)
        agree = bool(m.agrees().all())
        ok &= agree
        rows.append({"weight_variance": wv, "bias_variance": sb2, "xi_q": xi_q, "xi_c": xi_c,
                     "q_star": q_star, "q_start": m.q,
                     "chi_c": float(point.chi_c[0, 0]),
                     "measured": m.correlation[:, 0].tolist(), "se": m.se[:, 0].tolist(),
                     "theory": m.theory[:, 0].tolist(),
                     "tolerance": m.tolerance()[:, 0].tolist(), "agree": agree})
    doc = {"activation": args.activation, "weight_variances": w.tolist(),
           "bias_variances": b.tolist(), "chi_c": grid.chi_c.tolist(),
           "side": grid.side.tolist(),
           "boundary": [{"bias_variance": float(bv), "weight_variance":
                         (None if not np.isfinite(wv) else float(wv))} for bv, wv in zip(b, edge)],
           "measured": {"width": args.width, "depth": args.depth, "networks": args.networks,
                        "seed": args.seed, "c_in": c_in, "points": rows},
           "ok": ok}
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0 if ok else 1
    mark = {"ordered": ".", "critical": "|", "chaotic": "#"}
    lines = [f"varprop phase: {args.activation}, chi_c at the fixed point over sigma_w^2 "
             f"(columns, {w_lo:g} to {w_hi:g}) and sigma_b^2 (rows); . ordered, # chaotic",
             *(f"  sigma_b^2 = {bv:<8.4g} " + "".join(mark[grid.side[i, j]] for i in range(w.size))
               + ("   boundary: sigma_w^2 = " + (f"{ev:.4g}" if np.isfinite(ev) else "none"))
               for j, (bv, ev) in enumerate(zip(b, edge))),
             f"Monte-Carlo: width {args.width}, {args.networks} networks, two inputs of "
             f"correlation {c_in:g}, sigma_b^2 = {sb2:g}; correlation after layers 1 and "
             f"{args.depth} against the c-map (V17)",
             f"  {'sigma_w^2':>9} {'chi_c':>8} {'xi_c':>8} {'layer 1':>17} "
             f"{'layer ' + str(args.depth):>17}  verdict"]
    for r in rows:
        def cell(k):
            return f"{r['measured'][k]:.3f}±{r['se'][k]:.3f}/{r['theory'][k]:.3f}"
        start = "" if r["q_start"] == r["q_star"] else f"  (no finite q*: from q = {r['q_start']:g})"
        lines.append(f"  {r['weight_variance']:>9.4g} {r['chi_c']:>8.4g} {r['xi_c']:>8.3g} "
                     f"{cell(0):>17} {cell(-1):>17}  {'ok' if r['agree'] else 'differs'}{start}")
    lines.append("all agree" if ok else "DISAGREEMENT beyond the tolerance")
    print("\n".join(lines))
    return 0 if ok else 1


def _add_phase(sub) -> None:
    p = sub.add_parser("phase", help="the order/chaos phase diagram, with measured correlations",
                       description=(
                           "chi_c (V18), the slope of the correlation map at c = 1 for two "
                           "inputs at the fixed point q* (V16), over a grid of sigma_w^2 = "
                           "n Var[W] and sigma_b^2: below 1 the ordered phase, above 1 the "
                           "chaotic one; the boundary chi_c = 1 for each sigma_b^2; the depth "
                           "scales xi_q, xi_c (V23, V24); and Monte-Carlo: pairs of inputs of "
                           "correlation C_IN through NETWORKS random networks of WIDTH units, "
                           "their correlation after each layer (SE across networks) against "
                           "the c-map (V17) iterated. Exit status 1 when a measurement "
                           "disagrees beyond t SE + layer/width."),
                       epilog="example: varprop phase --activation tanh --measure 0.5,1,2,4")
    _add_activation_argument(p)
    p.add_argument("--weight-range", default="0.25,4", metavar="LO,HI",
                   help="sigma_w^2 range of the grid (default: %(default)s)")
    p.add_argument("--bias-range", default="0,0.3", metavar="LO,HI",
                   help="sigma_b^2 range of the grid (default: %(default)s)")
    p.add_argument("--grid", type=int, default=12, help="grid points per axis (default: 12)")
    p.add_argument("--measure", default="0.5,1,1.5,2,3,4", metavar="W1,W2,...",
                   help="sigma_w^2 values measured by Monte-Carlo (default: %(default)s)")
    p.add_argument("--measure-bias", default="0.05", metavar="B",
                   help="sigma_b^2 of the measurements (default: %(default)s)")
    p.add_argument("--c-in", default="0.6", help="the inputs' correlation (default: 0.6)")
    p.add_argument("--width", type=int, default=200, help="units per layer (default: 200)")
    p.add_argument("--depth", type=int, default=10, help="layers (default: 10)")
    p.add_argument("--networks", type=int, default=8, help="networks (default: 8)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_phase)


# Each entry adds one sub-command; modules outside this file register theirs here.
COMMANDS = [_add_derive, _add_predict, _add_check, _add_gain, _add_audit, _add_spectrum,
            _add_phase, _add_data, _add_figures, _add_train]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="varprop", description=(
        "Derive, measure and draw how variance flows through deep feedforward networks "
        "(Glorot & Bengio, 2010)."))
    p.add_argument("--version", action="version", version=f"varprop {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return p


def _commands(parser) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def main(argv=None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            raise UsageError(f"varprop: give a command: {', '.join(_commands(parser))} "
                             "(varprop --help explains each)")
        return args.func(args)
    except ValueError as exc:  # UsageError included
        text = " ".join(str(exc).split())     # one line, whatever a library's message held
        print(text if text.startswith("varprop") else f"varprop: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("varprop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
