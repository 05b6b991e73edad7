"""The one validation layer of ``cs_loss``.

Every public entry point calls one of these helpers before any student code
runs, so the student regions receive clean arrays and never check inputs
themselves. Each helper raises ``TypeError`` (wrong kind of object or dtype) or
``ValueError`` (wrong shape or value) with a message that names the argument,
says what was expected, shows what was received and, where one is likely,
suggests the fix.

One exception to "check before": the vectorized losses find NaN and infinity
in X from their result. Scanning X costs a full pass over it, half as much again
as the two matrix products of a vectorized loss (49,000 x 3,073 floats is 600
MB), while NaN or infinity in X makes a vectorized loss NaN or infinite anyway;
so they check their result with :func:`check_loss_result`, which only then
looks for the culprit and names it. The naive losses scan X first: beside their
loops a scan costs nothing, and a loop's ``if margin > 0`` would silently skip
a NaN.

:func:`check_loss_result` also reads what a student's loss returned the way a
reader would (a NumPy scalar or an array with one element is a number), and
says in the student's terms what their function returned when it cannot be
used.
"""

import numbers

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """Raised when a classifier is used before ``train`` was called."""


def _describe(a):
    """A short description of an array for error messages."""
    return f"an array of shape {a.shape} and dtype {a.dtype}"


def as_float_array(a, name, ndim=2, allow_int=True, check_finite=True):
    """Return ``a`` as a floating-point ndarray with ``ndim`` dimensions.

    Floating arrays are returned without a copy. Integer arrays (raw uint8
    images, say) are converted to float64 so that differences cannot wrap
    around. With ``check_finite``, NaN and infinity are rejected.

    Raises
    ------
    TypeError
        If ``a`` is not numeric.
    ValueError
        If ``a`` has the wrong number of dimensions, no elements, or holds NaN
        or infinity.
    """
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array; could not convert it: {exc}") from exc
    # dtype.kind: "f" float, "i"/"u" signed/unsigned int (bool is "b").
    if not (arr.dtype.kind == "f" or (allow_int and arr.dtype.kind in "iu")):
        raise TypeError(
            f"{name} must hold real numbers (float{' or int' if allow_int else ''}), "
            f"got dtype {arr.dtype}."
        )
    if arr.ndim != ndim:
        hint = ""
        if ndim == 2 and arr.ndim == 4:
            hint = " Did you forget to flatten the images with X.reshape(X.shape[0], -1)?"
        elif ndim == 2 and arr.ndim == 1:
            hint = " For a single example use x.reshape(1, -1)."
        raise ValueError(f"{name} must be {ndim}-dimensional, got {_describe(arr)}.{hint}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got {_describe(arr)}.")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if check_finite:
        _check_finite(arr, name)
    return arr


def _check_finite(arr, name):
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{name} contains NaN or infinity ({np.count_nonzero(~np.isfinite(arr))} "
            "entries). Check the preprocessing, or lower the learning rate if the "
            "values came from training."
        )


def as_labels(y, name="y", num_samples=None, num_classes=None):
    """Return ``y`` as a 1-D int64 array of class indices.

    Parameters
    ----------
    y : array-like of shape (N,)
        Class labels; integers in ``[0, num_classes)``.
    name : str
        Argument name used in messages.
    num_samples : int, optional
        The expected length N (the number of rows of X).
    num_classes : int, optional
        The number of classes C; labels must be smaller.
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
            hint = f" Convert it with {name}.astype(int)."
        else:
            hint = ""
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}.{hint}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional of shape (N,), got shape {arr.shape}.")
    if num_samples is not None and arr.shape[0] != num_samples:
        raise ValueError(
            f"{name} has {arr.shape[0]} labels but X has {num_samples} rows: "
            "every example needs exactly one label."
        )
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold labels >= 0, got the label {arr.min()}.")
    if num_classes is not None and arr.size and arr.max() >= num_classes:
        raise ValueError(
            f"{name} holds the label {arr.max()} but there are only {num_classes} classes "
            f"(labels 0..{num_classes - 1}); does W have one column per class?"
        )
    return arr.astype(np.int64, copy=False)


def as_nonnegative(value, name):
    """Return ``value`` as a finite float >= 0 (regularisation strengths)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}.")
    return value


def as_positive_int(value, name, maximum=None, maximum_name=None):
    """Return ``value`` as an int in ``[1, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(
            f"{name}={value} is larger than {maximum_name} ({maximum}); choose {name} <= {maximum}."
        )
    return value


def check_loss_inputs(W, X, y, reg, scan_X=True):
    """Validate the arguments shared by every loss function.

    With ``scan_X=False``, NaN and infinity in X are left to
    :func:`check_loss_result` (see the module docstring).

    Returns
    -------
    W : ndarray of shape (D, C), dtype=float
    X : ndarray of shape (N, D), dtype=float
    y : ndarray of shape (N,), dtype=int64
    reg : float
    """
    W = as_float_array(W, "W")
    X = as_float_array(X, "X", check_finite=scan_X)
    if X.shape[1] != W.shape[0]:
        if W.shape[0] == X.shape[1] + 1:
            hint = "did you forget the bias column (a column of ones appended to X)?"
        elif X.shape[1] == W.shape[0] + 1:
            hint = "did W lose its bias row, or was the bias column added twice?"
        else:
            hint = "X must be (N, D) and W (D, C) with the same D."
        raise ValueError(f"X has {X.shape[1]} columns but W has {W.shape[0]} rows: {hint}")
    y = as_labels(y, "y", num_samples=X.shape[0], num_classes=W.shape[1])
    reg = as_nonnegative(reg, "reg")
    return W, X, y, reg


def _returned(value):
    """How a returned value looks to the student who wrote the return statement."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a NumPy {value.dtype} scalar"
    if value is None or isinstance(value, (str, bytes, numbers.Number)):
        return f"{type(value).__name__} {value!r}"
    return f"a {type(value).__name__}"


def check_loss_result(loss, dW, W, X, function):
    """Return ``(loss, dW)`` as the kit promises them, or say what is wrong with them.

    The loss is read as a reader would: a Python or NumPy number, or an
    array with a single element (shape ``()``, ``(1,)``, ``(1, 1)``), of any
    real dtype; it is returned as a Python float. ``dW`` must have W's shape;
    it is returned as an array of the floating dtype of ``X @ W``.

    Parameters
    ----------
    loss : float
        The loss the student's code computed.
    dW : ndarray of shape (D, C)
        The gradient the student's code computed.
    W : ndarray of shape (D, C)
        The weights the loss was computed at.
    X : ndarray of shape (N, D)
        The examples the loss was computed on.
    function : str
        The loss function's name, for messages ("svm_loss_vectorized").

    Returns
    -------
    loss : float
    dW : ndarray of shape (D, C), dtype=float

    Raises
    ------
    TypeError
        If the loss is not a single real number, or dW is not a numeric array.
    ValueError
        If dW does not have W's shape; or if the loss or gradient is not
        finite because X holds NaN or infinity. Finite inputs whose loss
        overflows are returned as they are: that is a property of W (a
        learning rate too large, say), for the caller to see.
    """
    loss = _as_loss_number(loss, function)
    dW = _as_gradient(dW, W, X, function)
    if not (np.isfinite(loss) and np.isfinite(dW).all()):
        _check_finite(X, "X")
    return loss, dW


def _as_loss_number(loss, function):
    try:
        arr = np.asarray(loss)
    except Exception:  # an object numpy cannot read at all
        arr = np.asarray(None)
    if arr.dtype.kind not in "fiu":
        hint = ""
        if loss is None:
            hint = " Was loss assigned the result of an in-place method (which returns None)?"
        raise TypeError(
            f"{function} returned loss as {_returned(loss)}; expected a number "
            f"(a float, or a NumPy scalar).{hint}"
        )
    if arr.size != 1:
        hint = ""
        if arr.ndim == 1:
            hint = " It looks like one loss per example: average them over the N examples."
        raise TypeError(
            f"{function} returned loss as {_returned(arr)}; expected a single number "
            f"(the mean loss plus the penalty).{hint}"
        )
    return float(arr.reshape(()))


def _as_gradient(dW, W, X, function):
    expected_dtype = np.result_type(W, X)
    try:
        arr = np.asarray(dW)
    except Exception:
        arr = np.asarray(None)
    if arr.dtype.kind not in "fiu":
        raise TypeError(
            f"{function} returned dW as {_returned(dW)}; expected an array of W's shape {W.shape}."
        )
    if arr.shape != W.shape:
        if arr.shape == W.shape[::-1]:
            hint = " It is transposed: (C, D) instead of (D, C); check the order of the product."
        elif arr.ndim == 0:
            hint = " A number, not an array: was dW summed, or was it overwritten by the loss?"
        else:
            hint = ""
        raise ValueError(
            f"{function} returned dW of shape {arr.shape}; expected W's shape {W.shape}.{hint}"
        )
    return arr.astype(expected_dtype, copy=False)
