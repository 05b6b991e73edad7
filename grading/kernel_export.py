# Grading: this cell exports the values its check needs; the check runs outside the notebook.
# (grading/kernel_export.py, inserted as text in place of a graded test cell by
# grading.notebook_checks.export_source, followed by one call of _cs_loss_export.)


def _cs_loss_export(_names, _arrays, _json_path, _npz_path, _points, _namespace):
    import builtins as b  # not the notebook's names: a shadowed float or int changes nothing here
    import json

    import numpy

    def plain(v, depth=0):
        t = b.type(v)
        if depth > 6:
            raise b.ValueError("nested too deeply")
        if v is None or v is True or v is False:
            return v
        if b.isinstance(v, b.str):
            return b.str.__str__(v)
        if b.isinstance(v, numpy.bool_):
            return b.bool(v)
        if b.isinstance(v, b.int):
            return {"int": b.int.__repr__(v)}
        if b.isinstance(v, numpy.integer):
            return {"int": b.repr(b.int(v))}
        if b.isinstance(v, b.float):
            return {"float": b.float.__repr__(v)}
        if b.isinstance(v, numpy.floating):
            return {"float": b.repr(b.float(v))}
        if b.isinstance(v, (b.set, b.frozenset)):
            return {"set": [plain(x, depth + 1) for x in b.list(b.set.__iter__(b.set(v)))[:100]]}
        if b.isinstance(v, b.dict):
            items = b.list(b.dict.items(v))[:1000]
            return {"dict": [[plain(k, depth + 1), plain(x, depth + 1)] for k, x in items]}
        if b.isinstance(v, (b.list, b.tuple, numpy.ndarray)):
            return {"list": [plain(x, depth + 1) for x in b.list(v)[:1000]]}
        if b.callable(v):
            return {"function": [[c, plain(v(c), depth + 1)] for c in _points]}
        return {"unsupported": b.str(t.__name__)[:60]}

    out = {}
    for name in _names:
        try:
            out[name] = {"value": plain(_namespace[name])}
        except b.Exception as exc:
            out[name] = {"error": b.str(b.type(exc).__name__) + ": " + b.str(exc)[:300]}
    arrays = {}
    for key, expression in _arrays.items():
        try:
            obj, attr = expression.split(".")
            arrays[key] = numpy.array(b.getattr(_namespace[obj], attr), copy=True)
        except b.Exception as exc:
            out["array:" + key] = {"error": b.str(b.type(exc).__name__) + ": " + b.str(exc)[:300]}
    try:  # run-time review flag: hooks on the kernel's events or input transformers
        # The name as the cell would find it: the notebook's globals, then the builtins.
        shell = _namespace.get("get_ipython", b.getattr(b, "get_ipython", None))()
        hooks = [
            b.getattr(cb, "__module__", "?") + "." + b.getattr(cb, "__qualname__", "?")
            for event in shell.events.callbacks.values()
            for cb in event
        ]
        hooks += [
            b.getattr(t, "__module__", "?") + "." + b.getattr(t, "__qualname__", "?")
            for t in shell.input_transformers_post
            + shell.input_transformers_cleanup
            + shell.ast_transformers
        ]
        out["_hooks"] = {"value": {"list": [b.str(h)[:200] for h in hooks[:50]]}}
    except b.Exception:
        pass
    with b.open(_json_path, "w") as f:
        json.dump(out, f)
    if arrays:
        numpy.savez(_npz_path, **arrays)
