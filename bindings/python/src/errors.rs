//! Core errors as Python exceptions. The classes live in `tenure/_errors.py`
//! (so that `Timeout` can also be a `TimeoutError` and `InvalidArgument` a
//! `ValueError`); they are imported lazily, so an error can be made on any
//! thread without the GIL.

use pyo3::prelude::*;
use tenure::ErrorKind;

mod exc {
    pyo3::import_exception!(tenure._errors, TenureError);
    pyo3::import_exception!(tenure._errors, ForkedClientError);
}

/// The Python exception for a core error: `TenureError(message, code)`, which
/// makes the subclass of its kind (`tenure._errors.KINDS`), with the core's
/// message. No per-kind list here: the classes come from the core's codes.
pub(crate) fn to_py(e: tenure::Error) -> PyErr {
    PyErr::new::<exc::TenureError, _>((e.message().to_owned(), e.kind().code()))
}

/// `InvalidArgument` made by the binding (bad Python arguments).
pub(crate) fn invalid(msg: impl Into<String>) -> PyErr {
    to_py(tenure::Error::new(ErrorKind::InvalidArgument, msg))
}

/// An object made before `fork()` was used in the child.
pub(crate) fn forked_error() -> PyErr {
    PyErr::new::<exc::ForkedClientError, _>((
        "this tenure object was created in another process (before fork()); \
         its session belongs to the parent: create a new tenure Client in this process"
            .to_owned(),
    ))
}

/// The runtime was shut down at interpreter exit.
pub(crate) fn shut_down_error() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err(
        "the tenure runtime has been shut down (the interpreter is exiting)",
    )
}

/// Lets `?` convert core results in functions returning `PyResult`.
pub(crate) trait IntoPy<T> {
    /// The core result as a Python result.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for tenure::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
