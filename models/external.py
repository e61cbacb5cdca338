"""The ``pytorch-class`` kind: the user's own ``nn.Module`` class with safetensors weights.

``args`` in config.json::

    class_path      "mypkg.vae:MyVAE"   module:class, imported when the model loads
    kwargs          {"latent_dim": 8}   the class is built as ``MyVAE(**kwargs)``
    encode_method   "encode"            (B, C, H, W) -> (B, D), or a tuple whose element 0 is
    decode_method   "decode" or null    (B, D) -> (B, C, H, W); null: an encoder-only model
    pixel_range     [0.0, 1.0]          the pixel range the class works in ([-1, 1] is common)
    image_shape     [C, H, W]           of the dataset it was checked on
    latent_dim      D

Code runs only because a person named the class (``import-model --class``); weights are read
only from safetensors (``load_weights``), never unpickled. The module is searched in the
current folder first, then ``PYTHONPATH`` and the installed packages. Anything the class raises
(building it, encoding, decoding) becomes a ``ModelCodeError`` naming the step and the
file:line of the last frame in the user's code.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.base import LatentModel
from models.checkpoint import WEIGHTS_FILE, CheckpointInfo, load_weights, verify_file
from models.errors import ConfigError, ModelCodeError
from models.imported import (
    ImportedConfig,
    check_images,
    check_latents,
    check_pixel_range,
    first_output,
    from_model_range,
    one_line,
    to_model_range,
)

CLASS_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


def parse_class_path(class_path: str) -> tuple[str, str]:
    """``"mypkg.vae:MyVAE"`` -> ("mypkg.vae", "MyVAE"); ConfigError for anything else."""
    if not isinstance(class_path, str) or not CLASS_PATH.match(class_path):
        raise ConfigError(
            f"class {class_path!r} is not MODULE:CLASS (e.g. mypkg.vae:MyVAE, the module as "
            "you would import it and the class name after a colon)"
        )
    module, name = class_path.split(":")
    return module, name


@dataclass
class ExternalConfig(ImportedConfig):
    """``args`` of a pytorch-class model."""

    class_path: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    encode_method: str = "encode"
    decode_method: str | None = "decode"  # None: encoder only

    def validate(self) -> None:
        super().validate()
        parse_class_path(self.class_path)
        if not isinstance(self.kwargs, dict):
            raise ConfigError(f"kwargs must be a JSON object, got {type(self.kwargs).__name__}")
        for method in (self.encode_method, self.decode_method):
            if method is not None and not (isinstance(method, str) and IDENTIFIER.match(method)):
                raise ConfigError(f"method name {method!r} is not a Python identifier")


@contextmanager
def _current_folder_first() -> Iterator[None]:
    """The folder the command runs in is searched first, as ``python -m`` would; only for the
    import itself, so the process's sys.path is left as it was."""
    cwd = os.getcwd()
    sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if sys.path and sys.path[0] == cwd:
            del sys.path[0]


def _user_roots(module_name: str) -> list[str]:
    """Where the user's code lives: the top-level package's folders, or the module's file."""
    top = module_name.split(".", 1)[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [os.path.realpath(p) for p in spec.submodule_search_locations]
    return [os.path.realpath(spec.origin)] if spec.origin else []


def _defined_at(obj: object) -> str:
    """file:line where ``obj`` (a class or function) is defined, as far as Python knows."""
    try:
        return f"{inspect.getsourcefile(obj)}:{inspect.getsourcelines(obj)[1]}"  # type: ignore[arg-type]
    except (OSError, TypeError):
        return "an unknown place"


def user_location(exc: BaseException, roots: list[str], fallback: str) -> str:
    """file:line of the last traceback frame inside the user's code (``roots``), else
    ``fallback``: a TypeError about arguments, say, is raised before their code runs."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = os.path.realpath(frame.filename)
        if any(path == root or path.startswith(root + os.sep) for root in roots):
            return f"{frame.filename}:{frame.lineno}"
    return fallback


OWN_PACKAGES = frozenset({"app", "models"})  # this project's top-level packages


def import_class(class_path: str) -> type[nn.Module]:
    """Import the module and return the class; ModelCodeError saying why it cannot be."""
    module_name, class_name = parse_class_path(class_path)
    top = module_name.split(".", 1)[0]
    if top in OWN_PACKAGES:
        # Already imported from this project, so Python would never look at the user's folder.
        raise ModelCodeError(
            f"cannot import {module_name}: {top!r} is also the name of the explorer's own "
            "package, which hides yours; rename your package (or import it under another name)"
        )
    with _current_folder_first():
        roots = _user_roots(module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ModelCodeError(
                f"cannot import {module_name}: {one_line(str(exc))}; install the package or add "
                "its folder to PYTHONPATH (the current folder is searched first)"
            ) from None
        except SyntaxError as exc:
            raise ModelCodeError(
                f"cannot import {module_name}: SyntaxError at {exc.filename}:{exc.lineno}: "
                f"{one_line(str(exc.msg))}"
            ) from None
        except Exception as exc:  # their module's top level raised: anything is possible
            where = user_location(exc, roots, module_name)
            raise ModelCodeError(
                f"cannot import {module_name}: {type(exc).__name__} at {where}: "
                f"{one_line(str(exc))}"
            ) from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        found = sorted(
            name
            for name, value in vars(module).items()
            if isinstance(value, type)
            and issubclass(value, nn.Module)
            and value.__module__ == module.__name__
        )
        what = "has no" if cls is None else "has no torch.nn.Module subclass named"
        raise ModelCodeError(
            f"{module_name} ({getattr(module, '__file__', '?')}) {what} {class_name!r}: "
            f"its nn.Module classes are {', '.join(found) or 'none'}"
        )
    return cls


class UserCode:
    """The user's module plus what is needed to blame the right line when it fails."""

    def __init__(
        self, class_path: str, cls: type[nn.Module], module: nn.Module, roots: list[str]
    ) -> None:
        self.class_path = class_path
        self.cls = cls
        self.module = module
        self.roots = roots
        self._defined: dict[str, str] = {}

    def where(self, method: str) -> str:
        """``MyVAE.encode (vae.py:20)``: how messages name a method."""
        if method not in self._defined:  # looked up once: inspect reads the source file
            self._defined[method] = _defined_at(getattr(self.cls, method, None))
        return f"{self.cls.__name__}.{method} ({self._defined[method]})"

    def call(self, method: str, arg: torch.Tensor) -> torch.Tensor:
        """``module.method(arg)``, its first output when it returns a tuple."""
        try:
            out = getattr(self.module, method)(arg)
        except Exception as exc:  # the user's code: any exception, named with its line
            step = f"{self.cls.__name__}.{method}"
            raise _code_error(step, exc, self.roots, self.where(method)) from None
        return first_output(out, self.where(method))


def _code_error(step: str, exc: Exception, roots: list[str], fallback: str) -> ModelCodeError:
    where = user_location(exc, roots, fallback)
    return ModelCodeError(f"{step} failed at {where}: {type(exc).__name__}: {one_line(str(exc))}")


def build_user_code(
    class_path: str,
    kwargs: dict[str, Any],
    weights: Path,
    methods: tuple[str, str | None],
) -> UserCode:
    """Import the class, build it from ``kwargs``, load ``weights`` strictly, eval mode."""
    cls = import_class(class_path)
    for method in methods:
        if method is not None and not callable(getattr(cls, method, None)):
            public = sorted(
                n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n, None))
            )
            own = [n for n in public if n not in dir(nn.Module)]
            raise ModelCodeError(
                f"{class_path} ({_defined_at(cls)}) has no method {method!r}: its own methods "
                f"are {', '.join(own) or 'none'} (choose with --encode-method/--decode-method, "
                "or --no-decoder for an encoder only)"
            )
    roots = _user_roots(parse_class_path(class_path)[0])
    try:
        module = cls(**kwargs)
    except Exception as exc:  # the user's __init__
        raise _code_error(f"{cls.__name__}(**config)", exc, roots, _defined_at(cls)) from None
    load_weights(weights, module, fits=f"class {class_path}", needs=f"class {class_path}")
    module.eval()  # dropout off, batch norm on running statistics: encoding is deterministic
    return UserCode(class_path, cls, module, roots)


class ExternalModel(LatentModel):
    """``LatentModel`` around the user's module: their methods, our pixel range and checks."""

    name = "pytorch-class"
    config_class = ExternalConfig
    config: ExternalConfig
    runs_code = True  # a workspace is data: its files alone must not run code (--trust-code)

    def __init__(self, config: ExternalConfig, code: UserCode) -> None:
        super().__init__(config)
        self.code = code
        self.inner = code.module  # a submodule, so .to(device) and .eval() reach it

    @classmethod
    def load(cls, folder: Path, info: CheckpointInfo, device: torch.device | str) -> LatentModel:
        """Import the class config.json names, build it and load its safetensors weights."""
        config = ExternalConfig.from_checkpoint(folder, info)
        weights = folder / WEIGHTS_FILE
        needed = f"a checkpoint folder needs {WEIGHTS_FILE}"
        verify_file(weights, info.weights_sha256, needed, "import")
        methods = (config.encode_method, config.decode_method)
        return cls(config, build_user_code(config.class_path, config.kwargs, weights, methods))

    @property
    def can_decode(self) -> bool:
        return self.config.decode_method is not None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        method = self.config.encode_method
        z = self.code.call(method, to_model_range(x, self.config.pixel_range))  # (B, D)
        check_latents(z, x.shape[0], self.code.where(method), self.latent_dim)
        return z

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        method = self.config.decode_method
        if method is None:
            raise ConfigError(f"{self.config.class_path} was imported without a decoder")
        y = self.code.call(method, z)  # (B, C, H, W) in the model's pixel range
        check_images(y, z.shape[0], self.image_shape, self.code.where(method))
        return from_model_range(y, self.config.pixel_range)


def measure_latent_dim(code: UserCode, method: str, x: torch.Tensor, pixel_range: Any) -> int:
    """Run the encoder once on ``x`` ((B, C, H, W) in [0, 1]) to learn D before the config
    (which needs it) exists."""
    with torch.inference_mode():
        z = code.call(method, to_model_range(x, check_pixel_range(pixel_range)))
    return check_latents(z, x.shape[0], code.where(method))
