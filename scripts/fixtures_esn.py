"""Echo state network data for scripts/fixtures.py (test/fixtures/esn): series, an exact small ESN and
reference statistics, in NumPy float64."""
import math
import os

import numpy as np

from fixtures_common import F64, write, seed_of

# ---------------------------------------------------------------------------------------------
# Echo state network data (NumPy, float64)
# ---------------------------------------------------------------------------------------------

MG = dict(tau=17, a=0.2, b=0.1, n=10, x0=1.2)


def mg_rhs(x, xd):
    return MG["a"] * xd / (1 + xd ** MG["n"]) - MG["b"] * x


def mackey_glass_rk4(length, discard=1000, dt=0.1, subsample=10):
    """Classic RK4 at step dt; the delayed value at the half steps is the mean of its neighbours."""
    D = int(round(MG["tau"] / dt))
    total = (discard + length - 1) * subsample
    xs = [MG["x0"]] * (D + 1)  # x_{-D} .. x_0 (the history is constant)
    x = MG["x0"]
    half, sixth = dt / 2, dt / 6
    for k in range(total):
        xd0 = xs[k]  # x_{k-D}
        xd1 = xs[k + 1]  # x_{k-D+1}
        xm = 0.5 * (xd0 + xd1)
        k1 = mg_rhs(x, xd0)
        k2 = mg_rhs(x + half * k1, xm)
        k3 = mg_rhs(x + half * k2, xm)
        k4 = mg_rhs(x + dt * k3, xd1)
        x = x + sixth * (k1 + 2 * k2 + 2 * k3 + k4)
        xs.append(x)
    series = np.array(xs[D:], dtype=np.float64)[::subsample]
    return series[discard : discard + length]


def mackey_glass_rpy(length, discard=1000, h=1.0):
    """ReservoirPy's discretisation: one RK4 step per sample, x(t - tau) held over the 4 stages."""
    L = int(math.floor(MG["tau"] / h))
    history = [MG["x0"]] * L
    x = MG["x0"]
    out = [x]
    for _ in range(discard + length - 1):
        xtau = history.pop(0)
        history.append(x)
        k1 = h * mg_rhs(x, xtau)
        k2 = h * mg_rhs(x + 0.5 * k1, xtau)
        k3 = h * mg_rhs(x + 0.5 * k2, xtau)
        k4 = h * mg_rhs(x + k3, xtau)
        x = x + k1 / 6 + k2 / 3 + k3 / 3 + k4 / 6
        out.append(x)
    return np.array(out[discard:], dtype=np.float64)


def narma10_series(length, discard=200, seed=10):
    u = np.random.default_rng(seed).uniform(0, 0.5, discard + length)
    y = np.zeros(discard + length)
    for t in range(9, discard + length - 1):
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * np.sum(y[t - 9 : t + 1]) + 1.5 * u[t - 9] * u[t] + 0.1
    return u[discard:], y[discard:]


def spectral_radius(W):
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def esn_states(W_in, W, u, leak):
    N = W.shape[0]
    x = np.zeros(N)
    X = np.empty((len(u), N))
    for t, v in enumerate(u):
        x = (1 - leak) * x + leak * np.tanh(W_in @ np.array([1.0, v]) + W @ x)
        X[t] = x
    return X


def esn_step_float32(W_in, W, x, v, leak):
    f = np.float32
    pre = W_in.astype(f) @ np.array([1.0, v], dtype=f) + W.astype(f) @ x
    return (f(1 - leak) * x + f(leak) * np.tanh(pre)).astype(f)


def esn_states_float32(W_in, W, u, leak):
    x = np.zeros(W.shape[0], dtype=np.float32)
    X = np.empty((len(u), W.shape[0]))
    for t, v in enumerate(u):
        x = esn_step_float32(W_in, W, x, v, leak)
        X[t] = x
    return X


def ridge_readout(Z, Y, ridge):
    """W_out = Y Z^T (Z Z^T + ridge I)^-1, by a Cholesky solve (Z: features x samples)."""
    A = Z @ Z.T + ridge * np.eye(Z.shape[0])
    Lc = np.linalg.cholesky(A)
    rhs = Z @ Y.T
    W = np.linalg.solve(Lc.T, np.linalg.solve(Lc, rhs)).T
    return W, float(np.linalg.cond(A))


def esn_exact_small(series):
    """A 50-unit leaky ESN with given (float32-representable) weights: states and readouts."""
    N, leak, rho, washout, T = 50, 0.3, 1.25, 50, 300
    rng = np.random.default_rng(seed_of("esn_exact_small"))
    W_in = rng.uniform(-0.5, 0.5, (N, 2)).astype(np.float32).astype(np.float64)
    W = rng.uniform(-0.5, 0.5, (N, N))
    W = (W * (rho / spectral_radius(W))).astype(np.float32).astype(np.float64)
    u = series[: T + 1].astype(np.float32).astype(np.float64)
    X = esn_states(W_in, W, u[:T], leak)
    X32 = esn_states_float32(W_in, W, u[:T], leak)
    readouts = []
    for ridge in (1e-4, 1e-8):
        Z = np.vstack([np.ones(T - washout), u[washout:T], X[washout:T].T])
        Y = u[washout + 1 : T + 1][None, :]
        W_out, cond = ridge_readout(Z, Y, ridge)
        pred = (W_out @ Z)[0]
        # Free run: from x(299), input u(300), then each output fed back as the next input.
        x = X[T - 1].copy()
        v = u[T]
        free = []
        for _ in range(50):
            x = (1 - leak) * x + leak * np.tanh(W_in @ np.array([1.0, v]) + W @ x)
            v = float(W_out @ np.concatenate([[1.0, v], x]))
            free.append(v)
        # The same with float32 states (float64 solve): what a float32 implementation can reach.
        Z32 = np.vstack([np.ones(T - washout), u[washout:T], X32[washout:T].T])
        W32, _ = ridge_readout(Z32, Y, ridge)
        x, v, free32 = X32[T - 1].astype(np.float32), u[T], []
        for _ in range(50):
            x = esn_step_float32(W_in, W, x, v, leak)
            v = float(W32 @ np.concatenate([[1.0, v], x.astype(np.float64)]))
            free32.append(v)
        readouts.append(
            {
                "ridge": ridge,
                "cond_ZtZ_plus_ridge": cond,
                "W_out": F64(W_out),
                "train_predictions": {"t_range": [washout, T - 1], "data": [float(p) for p in pred]},
                "train_rmse": float(np.sqrt(np.mean((pred - Y[0]) ** 2))),
                "free_run": {"description": "starting from x(299), feed u = input[300], then feed back each prediction as the next input; 50 outputs", "data": free},
                "float32_states_deviation": {
                    "description": "the same computed with float32 states (NumPy, float64 solve): max |difference| from the reference",
                    "W_out_relative": float(np.max(np.abs(W32 - W_out)) / np.max(np.abs(W_out))),
                    "train_predictions": float(np.max(np.abs((W32 @ Z32)[0] - pred))),
                    "free_run": float(np.max(np.abs(np.array(free32) - np.array(free)))),
                },
            }
        )
    return {
        "name": "esn_exact_small",
        "dtype": "float64",
        "model": {
            "equations": ["x(t) = (1-a)*x(t-1) + a*tanh(W_in @ [1, u(t)] + W @ x(t-1)), x(-1) = 0", "y(t) = W_out @ [1, u(t), x(t)]"],
            "N": N,
            "leak_rate_a": leak,
            "spectral_radius": spectral_radius(W),
            "readout_fit": "W_out = Y Z^T (Z Z^T + ridge*I)^-1 with Z columns [1, u(t), x(t)] for t = washout .. train_len-1, Y = u(t+1); all entries regularised; solved in float64 (Cholesky)",
            "washout": washout,
            "train_len": T,
        },
        "W_in": F64(W_in),
        "W": F64(W),
        "input": {"shape": [T + 1], "data": [float(v) for v in u], "note": "the first 301 samples of mackey_glass_tau17_rk4_dt0.1, rounded to float32"},
        "targets": "u(t+1) for t = washout .. train_len-1 (one-step-ahead prediction)",
        "states_at": {str(t): [float(v) for v in X[t]] for t in (0, 1, 49, 50, 299)},
        "states_sum_abs": float(np.sum(np.abs(X))),
        "readouts": readouts,
        "note": "weights and inputs are float32 values (written as float64), so a float32 implementation starts from exactly the reference's numbers; everything else is float64",
    }


def esn_reference_results(mg, u, y):
    """Median/mean/min/max over ten reservoirs of a plain leaky ESN (the protocols are in the file)."""
    std = float(np.std(mg))

    def stats(v):
        v = np.array(v)
        return {"median": float(np.median(v)), "mean": float(np.mean(v)), "min": float(np.min(v)), "max": float(np.max(v)), "n": int(len(v))}

    def reservoir(seed, N, rho, scale):
        rng = np.random.default_rng(seed)
        W_in = rng.uniform(-0.5, 0.5, (N, 2)) * scale
        W = rng.uniform(-0.5, 0.5, (N, N))
        return W_in, W * (rho / spectral_radius(W))

    def step(W_in, W, x, v, leak):
        return (1 - leak) * x + leak * np.tanh(W_in @ np.array([1.0, v]) + W @ x)

    seeds = list(range(10))
    results = {
        "description": "Reference leaky ESN benchmark numbers (numpy float64). Reservoir realisations differ between implementations, so these are statistical references (compare medians/ranges), not exact values.",
        "esn": {
            "equations": "x(t) = (1-a)x(t-1) + a tanh(W_in [1;u(t)] + W x(t-1)); y(t) = W_out [1; u(t); x(t)]",
            "W_in": "U[-0.5,0.5] * input_scaling (bias column included)",
            "W": "dense U[-0.5,0.5], rescaled to spectral radius rho",
            "readout": "ridge regression on [1; u; x], ridge 1e-8, washout 100, trained on the first 2000 steps (1900 after washout)",
            "seeds": seeds,
            "rng": "numpy default_rng(seed)",
        },
        "mackey_glass": {
            "protocol": "series s = mackey_glass_tau17_rk4_dt0.1; train: inputs s[0..1999], targets s[1..2000], washout 100. one-step test: teacher-forced on s[2000..3999] predicting s[2001..4000]. free run: from the state after s[1999], input s[2000], then outputs fed back, 500 steps compared with s[2001..2500]. NRMSE84: state teacher-forced to s[2199], then 50 trials at start points 2200+84k: free run 84 steps from there, error of step 84; NRMSE84 = sqrt(mean(err^2)/var(s)). NRMSE = RMSE / std(s) (std of the whole stored series).",
        },
        "narma10": {
            "protocol": "u, y = narma10.json; inputs u[0..1999], targets y[1..2000], washout 100; test: inputs u[2000..3999], targets y[2001..4000]; NRMSE = RMSE / std(targets).",
        },
    }
    N, rho, leak = 500, 1.25, 0.3
    one_step, free500, n84 = [], [], []
    for seed in seeds:
        W_in, W = reservoir(seed, N, rho, 1.0)
        X = esn_states(W_in, W, mg[:6500], leak)
        Z = np.vstack([np.ones(1900), mg[100:2000], X[100:2000].T])
        W_out, _ = ridge_readout(Z, mg[101:2001][None, :], 1e-8)
        readout = lambda x, v: float(W_out @ np.concatenate([[1.0, v], x]))
        pred = np.array([readout(X[t], mg[t]) for t in range(2000, 4000)])
        one_step.append(np.sqrt(np.mean((pred - mg[2001:4001]) ** 2)) / std)
        x, v, free = X[1999], mg[2000], []
        for _ in range(500):
            x = step(W_in, W, x, v, leak)
            v = readout(x, v)
            free.append(v)
        free500.append(np.sqrt(np.mean((np.array(free) - mg[2001:2501]) ** 2)) / std)
        errs = []
        for k in range(50):
            p0 = 2200 + 84 * k
            x, v = X[p0 - 1], mg[p0]
            for _ in range(84):
                x = step(W_in, W, x, v, leak)
                v = readout(x, v)
            errs.append(v - mg[p0 + 84])
        n84.append(np.sqrt(np.mean(np.square(errs))) / std)
    results["mackey_glass"]["rk4_dt0.1_N500_rho1.25_leak0.3"] = {
        "one_step_test_nrmse": stats(one_step),
        "free_run_500_nrmse": stats(free500),
        "nrmse84": stats(n84),
    }
    scores = []
    for seed in seeds:
        W_in, W = reservoir(seed, 500, 0.9, 1.0)
        X = esn_states(W_in, W, u[:4000], 1.0)
        Z = np.vstack([np.ones(1900), u[100:2000], X[100:2000].T])
        W_out, _ = ridge_readout(Z, y[101:2001][None, :], 1e-8)
        Zt = np.vstack([np.ones(2000), u[2000:4000], X[2000:4000].T])
        pred = (W_out @ Zt)[0]
        target = y[2001:4001]
        scores.append(np.sqrt(np.mean((pred - target) ** 2)) / np.std(target))
    results["narma10"]["N500_rho0.9_leak1.0_in1"] = {"test_nrmse": stats(scores)}
    return results


def make_esn(out_dir):
    target = os.path.join(out_dir, "esn")
    os.makedirs(target, exist_ok=True)

    def series_file(name, values, generator):
        return {
            "name": name,
            "dtype": "float64",
            "generator": generator,
            "length": int(len(values)),
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "min": float(np.min(values)),
            "max": float(np.max(values)),
            "values": [float(v) for v in values],
        }

    eq = "dx/dt = a*x(t-tau)/(1+x(t-tau)^n) - b*x(t)"
    rk4 = mackey_glass_rk4(7000)
    write(
        os.path.join(target, "mackey_glass_tau17_rk4_dt0.1.json"),
        series_file(
            "mackey_glass_tau17_rk4_dt0.1",
            rk4,
            {**MG, "equation": eq, "history": "x(t) = x0 for all t <= 0", "method": "classic RK4, step dt = 0.1; delayed value at the half-step stages = mean of x(t-tau) and x(t-tau+dt), x(t-tau) at stage 1 and x(t-tau+dt) at stage 4; a*xd/(1 + xd^n) - b*x in that order", "dt": 0.1, "subsample": 10, "discarded_samples": 1000, "values_are": "x(t) for t = 1000, 1001, ... (time units)"},
        ),
    )
    rpy = mackey_glass_rpy(7000)
    write(
        os.path.join(target, "mackey_glass_tau17_rpy_h1.json"),
        series_file(
            "mackey_glass_tau17_rpy_h1",
            rpy,
            {**MG, "equation": eq, "h": 1.0, "history": "17 past values all equal to x0", "method": "one RK4 step of size h per sample, x(t-tau) from a FIFO of floor(tau/h) past samples, held constant over the 4 stages (ReservoirPy's discretisation, without its random initial history)", "discarded_samples": 1000, "values_are": "samples 1000, 1001, ... of the recursion (sample 0 = x0)"},
        ),
    )
    u, y = narma10_series(4200)
    write(
        os.path.join(target, "narma10.json"),
        {
            "name": "narma10",
            "dtype": "float64",
            "generator": {
                "equation": "y[t+1] = 0.3*y[t] + 0.05*y[t]*sum_{i=0..9} y[t-i] + 1.5*u[t-9]*u[t] + 0.1 (numpy.sum over the 10 values)",
                "u": "i.i.d. uniform on [0, 0.5), numpy.random.default_rng(10).uniform",
                "init": "y[t] = 0 for t <= 9",
                "discarded_samples": 200,
                "task_convention": "input at step t is u[t]; target is y[t+1] (index t of u and y is the same time t)",
            },
            "length": int(len(u)),
            "y_mean": float(np.mean(y)),
            "y_std": float(np.std(y)),
            "u": [float(v) for v in u],
            "y": [float(v) for v in y],
        },
    )
    write(os.path.join(target, "esn_exact_small.json"), esn_exact_small(rk4))
    results = esn_reference_results(rk4, u, y)
    write(os.path.join(target, "esn_reference_results.json"), results)
    mg = results["mackey_glass"]["rk4_dt0.1_N500_rho1.25_leak0.3"]
    print(f"esn: series, exact small ESN and reference statistics in {target}; N=500 Mackey-Glass one-step NRMSE median {mg['one_step_test_nrmse']['median']:.2e}, NARMA10 test NRMSE median {results['narma10']['N500_rho0.9_leak1.0_in1']['test_nrmse']['median']:.3f}")
