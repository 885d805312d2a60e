//! Core errors as Python exceptions. The classes live in `tenure/_errors.py`
//! (so that `Timeout` can also be a `TimeoutError` and `InvalidArgument` a
//! `ValueError`); they are imported lazily, so an error can be made on any
//! thread without the GIL.

use pyo3::prelude::*;
use tenure::ErrorKind;

mod exc {
    pyo3::import_exception!(tenure._errors, Unavailable);
    pyo3::import_exception!(tenure._errors, Timeout);
    pyo3::import_exception!(tenure._errors, LockHeld);
    pyo3::import_exception!(tenure._errors, LockLost);
    pyo3::import_exception!(tenure._errors, SessionExpired);
    pyo3::import_exception!(tenure._errors, SessionBlacklisted);
    pyo3::import_exception!(tenure._errors, NotHolder);
    pyo3::import_exception!(tenure._errors, InvalidArgument);
    pyo3::import_exception!(tenure._errors, PermissionDenied);
    pyo3::import_exception!(tenure._errors, ResourceExhausted);
    pyo3::import_exception!(tenure._errors, Cancelled);
    pyo3::import_exception!(tenure._errors, InternalError);
    pyo3::import_exception!(tenure._errors, ForkedClientError);
}

/// The Python exception for a core error: the subclass of `TenureError` of its
/// kind, with the core's message.
pub(crate) fn to_py(e: tenure::Error) -> PyErr {
    let msg = e.message().to_owned();
    match e.kind() {
        ErrorKind::Unavailable => PyErr::new::<exc::Unavailable, _>((msg,)),
        ErrorKind::Timeout => PyErr::new::<exc::Timeout, _>((msg,)),
        ErrorKind::LockHeld => PyErr::new::<exc::LockHeld, _>((msg,)),
        ErrorKind::LockLost => PyErr::new::<exc::LockLost, _>((msg,)),
        ErrorKind::SessionExpired => PyErr::new::<exc::SessionExpired, _>((msg,)),
        ErrorKind::SessionBlacklisted => PyErr::new::<exc::SessionBlacklisted, _>((msg,)),
        ErrorKind::NotHolder => PyErr::new::<exc::NotHolder, _>((msg,)),
        ErrorKind::InvalidArgument => PyErr::new::<exc::InvalidArgument, _>((msg,)),
        ErrorKind::PermissionDenied => PyErr::new::<exc::PermissionDenied, _>((msg,)),
        ErrorKind::ResourceExhausted => PyErr::new::<exc::ResourceExhausted, _>((msg,)),
        ErrorKind::Cancelled => PyErr::new::<exc::Cancelled, _>((msg,)),
        ErrorKind::Internal => PyErr::new::<exc::InternalError, _>((msg,)),
    }
}

/// `InvalidArgument` made by the binding (bad Python arguments).
pub(crate) fn invalid(msg: impl Into<String>) -> PyErr {
    PyErr::new::<exc::InvalidArgument, _>((msg.into(),))
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
