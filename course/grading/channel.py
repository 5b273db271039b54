"""The one narrow channel between the grader and a student's kernel: plain data in, plain data out.

The grader never trusts the kernel. It sends a *request* (which answers to evaluate, on which inputs) as
JSON text inside a small probe; the kernel evaluates the answers and publishes the results as plain
JSON data (numbers, strings, lists, tagged quantities and tables). The grader compares them, in its
own process, with what the reference solution gives for the same request (also through this module,
in the grader). Nothing else the kernel prints or claims counts.

This file is sent to the kernel **as source text** (:func:`probe_source`) and exec'd there in a fresh
namespace, so it imports nothing of ``course.grading`` (which the sandbox does not even mount) and
only the standard library at the top; pint, numpy, pandas and the course's units are imported lazily.

Encoding of values (``encode``) and of inputs (``decode``):

- ``None``, ``bool``, ``int``, ``float``, ``str`` as themselves (exact types: ``7.0`` stays a float);
  ``list`` as a list; ``tuple`` as ``{"$tuple": [...]}``; ``dict`` as ``{"$dict": [[k, v], ...]}``;
  ``set`` as ``{"$set": [...]}`` (sorted by their JSON); ``range`` as ``{"$range": [start, stop, step]}``;
  ``bytes`` as ``{"$bytes": hex}``; a float that is not finite as ``{"$float": "nan"|"inf"|"-inf"}``;
- a pint quantity as ``{"$q": [magnitude, "units"]}``; an ``Assumptions`` as ``{"$assumptions": {...}}``;
- numpy scalars as plain numbers, arrays as ``{"$array": [...]}``; pandas ``{"$df": ...}``, ``{"$series": ...}``;
- an exception raised by the answer as ``{"$raises": [type name, message]}``; a missing name as
  ``{"$missing": name}``; anything else as ``{"$other": type name}``.
"""

from __future__ import annotations

import builtins
import json
import math

MIME = "application/vnd.sysdesign-lab.probe+json"
#: At most this many values (nodes) in one result; beyond it the result is ``{"$toolarge": n}``.
MAX_NODES = 200_000
MAX_TEXT = 1_000_000


class _TooLarge(Exception):
    pass


def encode(value, _budget=None):
    """``value`` as plain JSON-able data (see the module docstring), within :data:`MAX_NODES` values."""
    budget = _budget if _budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge()
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        if kind is str and len(value) > MAX_TEXT:
            raise _TooLarge()
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is list:
        return [encode(v, budget) for v in value]
    if kind is tuple:
        return {"$tuple": [encode(v, budget) for v in value]}
    if kind is dict:
        return {"$dict": [[encode(k, budget), encode(v, budget)] for k, v in value.items()]}
    if kind in (set, frozenset):
        items = [encode(v, budget) for v in value]
        return {"$set": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
    if kind is range:
        return {"$range": [value.start, value.stop, value.step]}
    if kind in (bytes, bytearray):
        return {"$bytes": bytes(value).hex()}
    module = getattr(kind, "__module__", "") or ""
    name = getattr(kind, "__name__", "?")
    if module.startswith("numpy"):
        if hasattr(value, "tolist") and getattr(value, "ndim", 0):
            return {"$array": encode(value.tolist(), budget)}
        if hasattr(value, "item"):
            return encode(value.item(), budget)
    if module.startswith("pint") and hasattr(value, "magnitude") and hasattr(value, "units"):
        return {"$q": [encode(_plain_number(value.magnitude), budget), str(value.units)]}
    if name == "Assumptions" and module.startswith("course"):
        return {"$assumptions": {str(k): encode(value[k], budget) for k in value}}
    if module.startswith("pandas"):
        if name == "DataFrame":
            return {"$df": {"index": encode(list(value.index), budget), "columns": encode(list(value.columns), budget),
                            "data": encode(value.to_numpy().tolist(), budget)}}
        if name == "Series":
            return {"$series": {"index": encode(list(value.index), budget), "data": encode(value.tolist(), budget)}}
    return {"$other": f"{module}.{name}" if module else name}


def _plain_number(magnitude):
    kind = type(magnitude)
    if kind in (int, float):
        return magnitude
    if (getattr(kind, "__module__", "") or "").startswith("numpy") and hasattr(magnitude, "item"):
        return magnitude.item()
    return magnitude


def decode(data, variables=None):
    """Build the input a request describes (the inverse of :func:`encode` for inputs; ``$ref`` names a
    variable of the script being run)."""
    if isinstance(data, list):
        return [decode(v, variables) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) != 1:
        raise ValueError(f"bad input {data!r}")
    (tag, body), = data.items()
    if tag == "$tuple":
        return tuple(decode(v, variables) for v in body)
    if tag == "$dict":
        return {decode(k, variables): decode(v, variables) for k, v in body}
    if tag == "$set":
        return {decode(v, variables) for v in body}
    if tag == "$bytes":
        return bytes.fromhex(body)
    if tag == "$range":
        return range(*body)
    if tag == "$float":
        return float(body)
    if tag == "$q":
        from course.units import Quantity
        return Quantity(body[0], body[1])
    if tag == "$text_q":
        from course.units import q
        return q(body)
    if tag == "$assumptions":
        from course.assumptions import Assumptions
        return Assumptions(**{k: decode(v, variables) for k, v in body.items()})
    if tag == "$df":
        import pandas as pd
        return pd.DataFrame(decode(body["data"], variables), columns=decode(body["columns"], variables),
                            index=decode(body["index"], variables) if "index" in body else None)
    if tag == "$ref":
        return (variables or {})[body]
    raise ValueError(f"unknown input tag {tag!r}")


def _raised(exc):
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a student's exception may not even print
        message = ""
    return {"$raises": [type(exc).__name__, message[:300]]}


def _resolve(target, namespace, variables):
    head, _, attribute = target.partition(".")
    if head in variables:
        obj = variables[head]
    elif head in namespace:
        obj = namespace[head]
    elif hasattr(builtins, head):
        obj = getattr(builtins, head)
    else:
        return None, {"$missing": head}
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj, None


def _safe_encode(value):
    try:
        return encode(value)
    except _TooLarge:
        return {"$toolarge": MAX_NODES}
    except RecursionError:
        return {"$toolarge": "nested too deeply"}
    except Exception as exc:  # noqa: BLE001 - any failure to read a value is that value's problem
        return _raised(exc)


def evaluate(case, namespace):
    """The plain result of one case (a dict from the request) in ``namespace`` (the notebook's globals)."""
    kind = case.get("kind")
    if kind == "value":
        name = case["name"]
        if name not in namespace:
            return {"$missing": name}
        return _safe_encode(namespace[name])
    if kind == "call":
        try:
            function, missing = _resolve(case["name"], namespace, {})
            if missing:
                return missing
            args = decode(case.get("args", []))
            kwargs = {k: decode(v) for k, v in case.get("kwargs", {}).items()}
            result = function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the answer's own failure is its result
            return _raised(exc)
        return _safe_encode(result)
    if kind == "script":
        variables, kept = {}, []
        for step in case.get("steps", []):
            try:
                function, missing = _resolve(step["call"], namespace, variables)
                if missing:
                    result, value = missing, None
                    if not step.get("keep", True):
                        kept.append(result)
                        break
                else:
                    args = decode(step.get("args", []), variables)
                    kwargs = {k: decode(v, variables) for k, v in step.get("kwargs", {}).items()}
                    value = function(*args, **kwargs)
                    result = None
            except Exception as exc:  # noqa: BLE001
                result, value = _raised(exc), None
                if not step.get("keep", True):  # a set-up step failed: nothing after it means anything
                    kept.append(result)
                    break
            if step.get("let"):
                variables[step["let"]] = value
            if step.get("keep", True):
                kept.append(result if result is not None else _safe_encode(value))
        return kept
    return {"$raises": ["ValueError", f"unknown case kind {kind!r}"]}


def run(request, namespace):
    """Evaluate every case of ``request`` (a dict) in ``namespace``; a list of plain results, in order."""
    return [evaluate(case, namespace) for case in request.get("cases", [])]


def _publish(results):
    from IPython.display import publish_display_data
    publish_display_data({MIME: {"results": results}})


def probe_source(request: dict) -> str:
    """The code the grader runs in the student's kernel for ``request``: this module, then one call.

    Everything runs inside a function, so the notebook's namespace gains no names.
    """
    import inspect
    import sys

    module_source = inspect.getsource(sys.modules[__name__])
    payload = json.dumps(request, separators=(",", ":"))
    return (
        "def __sdl_probe(__source, __request):\n"
        "    __ns = {'__name__': 'sdl_probe'}\n"
        "    exec(compile(__source, '<grader probe>', 'exec'), __ns)\n"
        "    __ns['_publish'](__ns['run'](__ns['json'].loads(__request), globals()))\n"
        f"__sdl_probe({module_source!r}, {payload!r})\n"
        "del __sdl_probe\n"
    )
