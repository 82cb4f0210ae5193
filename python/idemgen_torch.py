"""Load an idemgen checkpoint (model.safetensors) as a torch.nn.Module.

    import idemgen_torch
    model = idemgen_torch.load("run/model.safetensors")          # EMA weights when there are any
    x = model(z)                                                 # one-step f(z), z: [batch, dim]
    d = model(x, sigma)                                          # a denoiser D(x; sigma), sigma: [batch]
    v = model(x, t)                                              # a velocity v(x, t), t: [batch]

The checkpoint's "network" metadata (JSON) says what to build; its "params.*" tensors (or
"ema.*") are the module's state_dict under that prefix, and its "buffers.*" the module's
buffers, in PyTorch's layout: a Linear weight is [out, in], a batch of points is [batch, dim].
Format 2 checkpoints only (idemgen-checkpoint-2); older ones carry no network description.

Needs torch and safetensors (the real package, not a reader of ours).
"""

from __future__ import annotations

import json

import torch
from safetensors import safe_open

FORMAT = "idemgen-checkpoint-2"

_ACTIVATIONS = {
    "identity": lambda slope: torch.nn.Identity(),
    "relu": lambda slope: torch.nn.ReLU(),
    "leaky_relu": lambda slope: torch.nn.LeakyReLU(slope),
    "silu": lambda slope: torch.nn.SiLU(),
    "gelu": lambda slope: torch.nn.GELU(),  # the exact, erf form: idemgen's
    "tanh": lambda slope: torch.nn.Tanh(),
    "sigmoid": lambda slope: torch.nn.Sigmoid(),
}


class SideLinear(torch.nn.Module):
    """y = W x + V e + b: a Linear whose input is [x; e] with the weight split in two (layer 0
    of a conditioned MLP, e the embedding of the noise level). Without a side input, a Linear."""

    def __init__(self, in_features: int, out_features: int, side_features: int = 0):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features))
        self.side_weight = torch.nn.Parameter(torch.empty(out_features, side_features)) if side_features else None
        self.bias = torch.nn.Parameter(torch.empty(out_features))

    def forward(self, x: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
        y = torch.nn.functional.linear(x, self.weight, self.bias)
        if self.side_weight is not None:
            y = y + side @ self.side_weight.T
        return y


class Embedding(torch.nn.Module):
    """[cos(c f_k), sin(c f_k)] of a conditioning value c per sample; f (2π folded in for the
    Fourier kind) is a buffer read from the checkpoint."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("frequencies", torch.empty(dim // 2))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        a = c.reshape(-1, 1) * self.frequencies.reshape(1, -1)
        return torch.cat([torch.cos(a), torch.sin(a)], dim=1)


class MLP(torch.nn.Module):
    """idemgen's nn::mlp: [Linear + activation] x hidden, then Linear; conditioned through the
    first layer's side input when the description has an embedding."""

    def __init__(self, d: dict):
        super().__init__()
        widths = [d["input_dim"], *d["hidden"], d["output_dim"]]
        side = d["embedding"]["dim"] if "embedding" in d else 0
        self.embedding = Embedding(side) if side else None
        self.layers = torch.nn.ModuleList(
            SideLinear(widths[k], widths[k + 1], side if k == 0 else 0) for k in range(len(widths) - 1))
        self.activation = _ACTIVATIONS[d["activation"]](d["negative_slope"])

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        side = self.embedding(c) if self.embedding is not None else None
        for k, layer in enumerate(self.layers):
            x = layer(x, side if k == 0 else None)
            if k + 1 < len(self.layers):
                x = self.activation(x)
        return x


class EDMDenoiser(torch.nn.Module):
    """D(x; σ) = c_skip x + c_out F(c_in x, ¼ ln σ) (Karras et al. 2022, eq. 7 and Table 1)."""

    def __init__(self, d: dict):
        super().__init__()
        if d["schedule"] != "karras":
            raise ValueError(f"idemgen_torch: an edm_denoiser with schedule {d['schedule']!r} (expected karras)")
        self.sigma_data, self.sigma_min, self.sigma_max, self.rho = (
            d["sigma_data"], d["sigma_min"], d["sigma_max"], d["rho"])
        self.net = build(d["net"])

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        s = sigma.reshape(-1, 1).to(x.dtype)
        sd = self.sigma_data
        c_skip = sd * sd / (s * s + sd * sd)
        c_out = s * sd / torch.sqrt(s * s + sd * sd)
        c_in = 1 / torch.sqrt(s * s + sd * sd)
        return c_skip * x + c_out * self.net(c_in * x, torch.log(s).reshape(-1) / 4)

    def sigmas(self, steps: int) -> list[float]:
        """The Karras grid σ_0 = σ_max > … > σ_{steps-1} = σ_min (EDM eq. 5)."""
        a, b = self.sigma_max ** (1 / self.rho), self.sigma_min ** (1 / self.rho)
        return [(a + i / (steps - 1) * (b - a)) ** self.rho for i in range(steps)]


class Velocity(torch.nn.Module):
    """v(x, t) = F(x, t), t in [0, 1] with t = 1 the data (x_t = t y + (1 - t) z)."""

    def __init__(self, d: dict):
        super().__init__()
        self.net = build(d["net"])

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(x, t.reshape(-1).to(x.dtype))


_TYPES = {"mlp": MLP, "edm_denoiser": EDMDenoiser, "velocity": Velocity}


def build(description: dict) -> torch.nn.Module:
    """The module a "network" description names, with uninitialised weights."""
    kind = description.get("type")
    if kind not in _TYPES:
        raise ValueError(f"idemgen_torch: network type {kind!r} (expected one of {', '.join(_TYPES)})")
    return _TYPES[kind](description)


def load(path: str, weights: str = "ema") -> torch.nn.Module:
    """The model of checkpoint `path` in eval mode, float32, on the CPU: its EMA weights when
    `weights` is "ema" and it has them, its raw weights otherwise. model.metadata holds the
    checkpoint's metadata (model.metadata["config"]: every option of the run, as JSON)."""
    if weights not in ("ema", "raw"):
        raise ValueError(f"idemgen_torch.load: weights {weights!r} (expected ema or raw)")
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ValueError(f"idemgen_torch.load: {path}: format {metadata.get('format')!r} (expected {FORMAT})")
        model = build(json.loads(metadata["network"]))
        names = set(f.keys())
        prefix = "ema." if weights == "ema" and any(k.startswith("ema.") for k in names) else "params."
        state = {k[len(prefix):]: f.get_tensor(k) for k in names if k.startswith(prefix)}
        state.update({k[len("buffers."):]: f.get_tensor(k) for k in names if k.startswith("buffers.")})
    # The tensors are named as the idemgen network's state_dict; a wrapper (denoiser, velocity)
    # holds that network as its submodule "net".
    expected = model.state_dict().keys()
    prefix_of_net = next((p for p in ("", "net.") if all(p + k in expected for k in state)), None)
    if prefix_of_net is None:
        raise ValueError(f"idemgen_torch.load: {path}: tensors {sorted(state)} do not fit {sorted(expected)}")
    model.load_state_dict({prefix_of_net + k: v for k, v in state.items()}, strict=True)
    model.metadata = metadata
    model.weights = "ema" if prefix == "ema." else "raw"
    return model.eval()


__all__ = ["load", "build", "MLP", "EDMDenoiser", "Velocity", "FORMAT"]
