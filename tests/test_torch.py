"""varprop.torch: the audit's measurements against an independent computation, its predictions
against varprop.theory, the initialisation it names, init_ with derived gains, the chains it
refuses, and ``varprop audit`` on the command line."""
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")   # the [test] extra installs it
from torch import nn  # noqa: E402

from varprop import cli  # noqa: E402
from varprop import torch as vt  # noqa: E402
from varprop.criticality import fixed_point_gain, linear_gain  # noqa: E402
from varprop.symbolic.schemes import fan_function, get_scheme, schemes  # noqa: E402
from varprop.theory import meanfield_theory, propagate  # noqa: E402
from varprop.training.network import init_network  # noqa: E402

PAPER = (1024, 1000, 1000, 1000, 1000, 1000, 10)


def mlp(widths, act=nn.Tanh, dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    layers = []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(widths) - 2:
            layers.append(act())
    return nn.Sequential(*layers).to(dtype)


def scheme_variance(name, fan_in, fan_out):
    return float(fan_function(schemes()[name].variance)(fan_in, fan_out))


# --- measurements and predictions ------------------------------------------------------------

def independent(model, x, y):
    """Forward and backward by hand in float64 NumPy, per-example weight gradients formed."""
    lins = [m for m in model if isinstance(m, nn.Linear)]
    z = x.double().numpy()
    zs, ss = [], []
    for k, lin in enumerate(lins):
        w = lin.weight.detach().double().numpy().T
        b = lin.bias.detach().double().numpy()
        zs.append(z)
        s = z @ w + b
        ss.append(s)
        z = np.tanh(s) if k < len(lins) - 1 else s
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = p.copy()
    d[np.arange(len(y)), y.numpy()] -= 1           # dC/ds of the summed NLL
    ds = [d]
    for k in range(len(lins) - 1, 0, -1):
        w = lins[k].weight.detach().double().numpy().T
        d = (d @ w.T) * (1 - np.tanh(ss[k - 1]) ** 2)
        ds.insert(0, d)
    grads = [np.einsum("bi,bj->bij", zk, dk) for zk, dk in zip(zs, ds)]   # (B, n_in, n_out)
    return [v.var() for v in zs], [v.var() for v in ds], [g.var() for g in grads]


def test_measurements_equal_an_independent_computation():
    model = mlp((20, 30, 25, 5), dtype=torch.float64)
    x = torch.randn(64, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = torch.randint(0, 5, (64,), generator=torch.Generator().manual_seed(2))
    rep = vt.audit(model, x, y)
    want = independent(model, x, y)
    for key, ref in zip(("activation_variance", "backprop_variance", "weight_gradient_variance"),
                        want):
        got = [r[key]["measured"] for r in rep.rows]
        np.testing.assert_allclose(got, ref, rtol=1e-6)
    assert all(lin.weight.grad is None for lin in model if isinstance(lin, nn.Linear))


def test_predictions_equal_the_theory_for_the_measured_weight_variances():
    model = mlp((64, 128, 128, 10))
    x = torch.randn(256, 64, generator=torch.Generator().manual_seed(3))
    rep = vt.audit(model, x)
    wv = [r["weight_variance"] for r in rep.rows]
    for theory in ("linear", "meanfield"):
        p = propagate(rep.widths, wv, "tanh", rep.var_x, rep.var_top,
                      bias_variance=rep.bias_variance, theory=theory)
        for key, _, field in vt.QUANTITIES:
            np.testing.assert_array_equal([r[key][theory] for r in rep.rows], getattr(p, field))


def test_pytorch_default_is_the_papers_standard_and_init_sets_the_scheme():
    model = mlp((256, 256, 256, 10))
    x = torch.randn(128, 256, generator=torch.Generator().manual_seed(4))
    before = vt.audit(model, x)
    assert [r["init"] for r in before.rows] == ["standard"] * 3
    assert {r["law"] for r in before.rows} == {"uniform"}
    vt.init_(model, "normalized", seed=5)
    after = vt.audit(model, x)
    assert [r["init"] for r in after.rows] == ["normalized"] * 3
    for r in after.rows:
        target = scheme_variance("normalized", r["fan_in"], r["fan_out"])
        se = target * math.sqrt(0.8 / (r["fan_in"] * r["fan_out"]))     # uniform: kurtosis 1.8
        assert abs(r["weight_variance"] - target) <= vt.MATCH_Z * se
        assert r["bias_variance"] == 0


def test_init_draws_the_weights_of_init_network():
    widths = (30, 40, 40, 7)
    model = mlp(widths)
    vt.init_(model, "normalized", seed=11)           # tanh: derived gain 1
    net = init_network(widths, "tanh", "normalized", dtype="float32", seed=11)
    for lin, w in zip([m for m in model if isinstance(m, nn.Linear)], net.weights):
        np.testing.assert_array_equal(lin.weight.detach().numpy(), w.T)


def test_he_holds_relus_gain_from_the_registry():
    he, lecun = schemes()["he"], schemes()["lecun"]
    ratio = float(he.variance / lecun.variance)
    assert ratio == pytest.approx(linear_gain(vt.SCHEME_ACTIVATION["he"]) ** 2, rel=1e-15)


@pytest.mark.parametrize("act, scheme, gain, factor", [
    (nn.ReLU, "kaiming_normal", "derived", 1.0),          # he is ReLU's already
    (nn.Tanh, "kaiming_normal", "derived", 0.5),          # gain(tanh)^2 / gain(relu)^2
    (nn.Sigmoid, "normalized", "derived", 16.0),          # 1 / f'(0)^2
    (nn.Sigmoid, "normalized", "none", 1.0),
    (nn.Tanh, "normalized", "fixed_point", None),         # V16: q* = 1
    (nn.SELU, "lecun", "derived", None),                  # no slope: the fixed-point gain
    (nn.Tanh, "normalized", 2.0, 4.0),
])
def test_init_gain(act, scheme, gain, factor):
    widths = (400, 400, 400, 3)
    model = mlp(widths, act)
    vt.init_(model, scheme, gain=gain, seed=0)
    name = {nn.SELU: "selu", nn.Tanh: "tanh"}.get(act)
    if factor is None:
        factor = fixed_point_gain(name) ** 2
    lins = [m for m in model if isinstance(m, nn.Linear)]
    s = get_scheme(scheme)
    for k, lin in enumerate(lins):
        target = scheme_variance(s.name, 400, widths[k + 1]) * (factor if k < 2 else 1.0)
        if scheme == "kaiming_normal" and k == 2:      # the top: gain 1 over ReLU's
            target /= 2
        v = lin.weight.detach().double().var(unbiased=False).item()
        assert v == pytest.approx(target, rel=6 * math.sqrt(2 / lin.weight.numel()))


def test_init_rejects_bad_choices():
    model = mlp((10, 10, 3))
    with pytest.raises(ValueError, match="unknown init scheme"):
        vt.init_(model, "glorot")
    with pytest.raises(ValueError, match="choose one of: derived, linear, fixed_point, none"):
        vt.init_(model, "normalized", gain="big")
    with pytest.raises(ValueError, match="no linear-regime gain"):
        vt.init_(mlp((10, 10, 3), nn.SELU), "normalized", gain="linear")


@pytest.mark.parametrize("init", ["standard", "normalized"])
def test_mean_field_agrees_at_the_papers_widths(init):
    """Acceptance: tanh, 1000 inputs, both inits, within the calibrated tolerance."""
    model = mlp(PAPER, seed=6)
    if init != "standard":
        vt.init_(model, init, seed=6)
    x = torch.randn(1000, PAPER[0], generator=torch.Generator().manual_seed(7))
    rep = vt.audit(model, x, seed=8)
    assert [r["init"] for r in rep.rows] == [init] * 6
    assert rep.ok, rep.table()
    mf = meanfield_theory(PAPER, "tanh", init, var_top=rep.var_top,     # the scheme's variances
                          bias_variance=rep.bias_variance)
    got = [r["activation_variance"]["meanfield"] for r in rep.rows]
    np.testing.assert_allclose(got, mf.activation_variance, rtol=0.02)


def test_identify_law_and_orthogonal():
    rng = np.random.default_rng(0)
    for law, w in (("normal", rng.normal(0, 0.1, (300, 300))),
                   ("uniform", rng.uniform(-1, 1, (300, 300)))):
        assert vt.identify_init(w)[1] == law
    q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    assert vt.identify_init(q)[:2] == ("orthogonal", "orthogonal")     # Var = 1/fan_in
    assert vt.identify_init(rng.normal(0, 3.0, (100, 100)))[0] is None


def test_audit_keeps_the_model_and_its_numbers_fixed_by_the_seed():
    model = mlp((32, 32, 4))
    x = torch.randn(50, 32, generator=torch.Generator().manual_seed(0))
    w0 = model[0].weight.detach().clone()
    a, b = vt.audit(model, x, seed=3), vt.audit(model, x, seed=3)
    assert a.to_dict() == b.to_dict()
    assert torch.equal(model[0].weight, w0)


# --- reading models ---------------------------------------------------------------------------

class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.f = nn.Linear(8, 8), nn.Linear(8, 3), nn.Tanh()

    def forward(self, x):
        return self.b(self.f(self.a(x)) + x)


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


class Chained(nn.Module):
    """Not a Sequential, but a chain: read through forward hooks."""

    def __init__(self):
        super().__init__()
        self.inp, self.act, self.out = nn.Linear(8, 16), nn.ReLU(inplace=True), nn.Linear(16, 3)

    def forward(self, x):
        return self.out(self.act(self.inp(x)))


class MySwish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


@pytest.mark.parametrize("model, message", [
    (nn.Sequential(nn.Conv1d(1, 1, 3), nn.Linear(8, 3)), "'0' (Conv1d) is not one"),
    (nn.Sequential(nn.Linear(8, 8), nn.MultiheadAttention(8, 2)), "'1' (MultiheadAttention)"),
    (nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.Linear(8, 3)), "'1' (LayerNorm)"),
    (Residual(), "not a chain of modules: 'b' (Linear)"),
    (Functional(), "not a chain of modules: 'b' (Linear)"),
    (nn.Sequential(nn.Tanh(), nn.Linear(8, 3)), "must start with an nn.Linear"),
    (nn.Sequential(nn.Linear(8, 8), nn.Softmax(1), nn.Linear(8, 3)), "only right after the last"),
    (nn.Sequential(nn.Linear(8, 8), MySwish(), nn.Linear(8, 3)), "(MySwish) is not one"),
])
def test_unreadable_models_name_the_first_unsupported_module(model, message):
    with pytest.raises(ValueError) as err:
        vt.audit(model, torch.randn(4, 8))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_shared_module_is_refused():
    lin = nn.Linear(8, 8)
    with pytest.raises(ValueError, match="called twice"):
        vt.audit(nn.Sequential(lin, nn.Tanh(), lin, nn.Linear(8, 2)), torch.randn(4, 8))


def test_activation_modules_map_onto_the_registry():
    chain = vt.read_chain(
        nn.Sequential(nn.Linear(4, 4), nn.LeakyReLU(0.2), nn.Linear(4, 4), nn.ELU(0.5),
                      nn.Linear(4, 4), nn.GELU(approximate="tanh"), nn.Linear(4, 4),
                      nn.Hardtanh(-2, 2), nn.Linear(4, 4), nn.Dropout(0.1), MySwish(),
                      nn.Linear(4, 4), nn.Mish(), nn.Linear(4, 2), nn.LogSoftmax(1)),
        torch.randn(3, 4), activations={MySwish: "x*sigmoid(x)"})
    assert chain.activations == [
        "leaky_relu(0.2)", "Piecewise((x, x > 0), (0.5*(exp(x) - 1), True))",
        "x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))/2",
        "Piecewise((-2.0, x < -2.0), (x, x <= 2.0), (2.0, True))", "x*sigmoid(x)", "mish"]
    assert isinstance(chain.top, nn.LogSoftmax) and chain.widths == (4,) * 7 + (2,)


def test_the_mapped_expressions_are_pytorchs_functions():
    """Each module's varprop activation, evaluated by the registry's NumPy code, is the module."""
    from varprop.kernels import numpy_functions

    t = torch.linspace(-4, 4, 81, dtype=torch.float64)
    for module in (nn.LeakyReLU(0.2), nn.ELU(0.5), nn.GELU(), nn.GELU(approximate="tanh"),
                   nn.Hardtanh(-2, 2), nn.SELU(), nn.SiLU(), nn.Mish(), nn.Softplus(),
                   nn.Softsign(), nn.Sigmoid()):
        name = vt._activation_of(module, {})
        f = numpy_functions(name)[0]
        np.testing.assert_allclose(f(t.numpy()), module(t).numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=name)


def test_chained_module_and_inplace_relu():
    model = Chained()
    rep = vt.audit(model, torch.randn(200, 8, generator=torch.Generator().manual_seed(0)))
    assert rep.activations == ["relu"] and rep.names == ["inp", "out"]
    assert rep.rows[0]["backprop_variance"]["measured"] > 0


def test_mixed_activations_are_measured_not_predicted():
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    rep = vt.audit(model, torch.randn(30, 8))
    assert rep.ok is None and "mixed activations" in rep.notes[0]
    assert rep.rows[0]["activation_variance"]["meanfield"] is None


def test_selu_has_no_linear_prediction():
    model = mlp((50, 50, 50, 3), nn.SELU)
    rep = vt.audit(model, torch.randn(40, 50))
    assert rep.rows[1]["activation_variance"]["linear"] is None
    assert rep.rows[1]["activation_variance"]["meanfield"] > 0


def test_figure_and_atomic_plot(tmp_path):
    model = mlp((16, 16, 4))
    rep = vt.audit(model, torch.randn(20, 16))
    rep.plot(tmp_path / "audit.png")
    assert (tmp_path / "audit.png").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["audit.png"]


# --- the command line -------------------------------------------------------------------------

FACTORIES = textwrap.dedent("""
    from torch import nn

    def small():
        return nn.Sequential(nn.Linear(12, 20), nn.Tanh(), nn.Linear(20, 20), nn.Tanh(),
                             nn.Linear(20, 4))

    def conv():
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 2))

    def not_a_model():
        return 42

    def broken():
        raise RuntimeError("no")

    class Swish(nn.Module):
        def forward(self, x):
            return x * x.sigmoid()

    def swish():
        return nn.Sequential(nn.Linear(12, 20), Swish(), nn.Linear(20, 4))
""")


@pytest.fixture
def factories(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(FACTORIES)
    return path


def run(capsys, *argv):
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_json_has_the_check_shape(capsys, factories, tmp_path):
    rc, out, err = run(capsys, "audit", f"{factories}:small", "--input-dim", "12", "--batch",
                       "100", "--json", "--plot", str(tmp_path / "a.svg"))
    assert rc in (0, 1) and not err
    doc = json.loads(out)
    assert [r["layer"] for r in doc["layers"]] == [0, 1, 2]
    for r in doc["layers"]:
        assert r["init"] == "standard" and r["weight_variance"] > 0
        for key in ("activation_variance", "backprop_variance", "weight_gradient_variance"):
            assert {"measured", "linear", "meanfield"} <= set(r[key])
    assert (tmp_path / "a.svg").exists()
    rc2, out2, _ = run(capsys, "audit", f"{factories}:small", "--input-dim", "12", "--batch",
                       "100", "--json")
    assert out2 == out      # --seed 0 fixes the model, the inputs and the labels


def test_cli_maps_a_custom_module(capsys, factories):
    rc, out, err = run(capsys, "audit", f"{factories}:swish", "--input-dim", "12", "--map",
                       "Swish=x*sigmoid(x)")
    assert rc in (0, 1) and "x*sigmoid(x)" in out


@pytest.mark.parametrize("args, message", [
    (["{f}"], "give the model as FILE.py:FACTORY"),
    (["missing.py:small"], "no such file: missing.py"),
    (["{f}:absent"], "has no function 'absent'"),
    (["{f}:not_a_model"], "returned int, not a torch.nn.Module"),
    (["{f}:broken"], "broken() failed: RuntimeError: no"),
    (["{f}:conv"], "(Conv2d) is not one"),
    (["{f}:small", "--input-dim", "0"], "--input-dim must be a positive integer"),
    (["{f}:small", "--map", "Tanh"], "--map takes CLASS=ACTIVATION"),
    (["{f}:small", "--map", "Nope=tanh"], "--map names Nope, not in the model"),
    (["{f}:swish", "--map", "Swish=__import__('os')"], "activation"),
    (["{f}:small", "--input-dim", "7"], "x has 7 features; the first Linear takes 12"),
    (["{f}:small", "--plot", "out.xyz"], "give a file ending in .png, .pdf, .svg"),
    (["{f}:small", "--plot", "{f}/a.png"], "--plot"),
])
def test_cli_bad_input_is_one_line_exit_2(capsys, factories, args, message):
    argv = [a.format(f=factories) for a in args]
    if "--input-dim" not in argv:
        argv += ["--input-dim", "12"]
    rc, out, err = run(capsys, "audit", *argv)
    assert rc == 2 and not out
    assert message in err and err.count("\n") == 1


def test_varprop_runs_without_pytorch(tmp_path):
    """PyTorch is optional: with it hidden, varprop's other modules import and the CLI works,
    and ``varprop audit`` says what to install."""
    code = textwrap.dedent("""
        import sys, pkgutil, importlib
        sys.modules["torch"] = None          # import torch -> ImportError
        import varprop
        for m in pkgutil.walk_packages(varprop.__path__, "varprop."):
            if m.name not in ("varprop.torch", "varprop.__main__"):
                importlib.import_module(m.name)
        from varprop import cli
        assert cli.main(["predict", "--widths", "10,10"]) == 0
        sys.exit(cli.main(["audit", "x.py:f", "--input-dim", "3"]))
    """)
    root = str(Path(vt.__file__).parents[1])          # this checkout, wherever it is
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": root})
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == "varprop audit needs PyTorch: pip install 'varprop[torch]'"


def test_the_readme_example_says_what_it_prints():
    """README.md's ```python block, run: the ratios its comments give, the names, the verdicts."""
    import re

    readme = (Path(vt.__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    torch.manual_seed(0)
    reports = []
    exec(block, {"print": reports.append})
    (before, after) = reports
    for rep, init, z_fall, d_fall in ((before, "standard", 370, 140), (after, "normalized", 10, 6)):
        z = [r["activation_variance"]["measured"] for r in rep.rows]
        d = [r["backprop_variance"]["measured"] for r in rep.rows]
        assert [r["init"] for r in rep.rows] == [init] * 6 and rep.ok
        assert z[0] / z[5] == pytest.approx(z_fall, rel=0.1)
        assert d[4] / d[0] == pytest.approx(d_fall, rel=0.1)
