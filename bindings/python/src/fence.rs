//! `tenure.Fence` and `tenure.FenceValidator`, thin wrappers of the core's.

use pyo3::prelude::*;

use crate::errors::IntoPy;

/// A lock name and a fencing token: what a holder sends to storage with every
/// write, as the header ``tenure-fence: <lock>=<token>``.
#[pyclass(frozen, eq, hash, module = "tenure")]
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Fence {
    /// The lock (resource) name.
    #[pyo3(get)]
    pub lock: String,
    /// The fencing token of the grant.
    #[pyo3(get)]
    pub token: u64,
}

impl Fence {
    fn core(&self) -> tenure::Fence {
        tenure::Fence::new(self.lock.clone(), self.token)
    }
}

impl From<tenure::Fence> for Fence {
    fn from(f: tenure::Fence) -> Self {
        Fence {
            lock: f.lock,
            token: f.token,
        }
    }
}

#[pymethods]
impl Fence {
    /// A fence for `lock` at `token`; raises `InvalidArgument` if `lock` is
    /// not a valid lock name (the core's rule).
    #[new]
    fn new(lock: String, token: u64) -> PyResult<Self> {
        tenure::Fence::try_new(lock, token).py().map(Fence::from)
    }

    /// The header value, ``<lock>=<token>`` (odd bytes of the name percent-encoded).
    fn header_value(&self) -> String {
        self.core().header_value()
    }

    /// Parses a header value made by `header_value()`; raises `InvalidArgument`
    /// if it is not one.
    #[staticmethod]
    fn parse(value: &str) -> PyResult<Fence> {
        tenure::Fence::parse(value).py().map(Fence::from)
    }

    fn __str__(&self) -> String {
        self.header_value()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let lock = self.lock.clone().into_pyobject(py)?;
        Ok(format!(
            "Fence(lock={}, token={})",
            lock.repr()?,
            self.token
        ))
    }
}

/// The storage side of fencing: remembers the highest token seen per lock and
/// rejects writes that carry a lower one. Equal tokens pass (one holder writes
/// many times). Thread-safe.
#[pyclass(frozen, module = "tenure")]
#[derive(Default)]
pub struct FenceValidator {
    inner: tenure::FenceValidator,
}

#[pymethods]
impl FenceValidator {
    /// An empty validator.
    #[new]
    fn new() -> Self {
        FenceValidator::default()
    }

    /// Accepts `fence` if its token is at least the highest seen for its lock
    /// (and records it); otherwise raises `tenure.LockLost`.
    fn check(&self, fence: &Fence) -> PyResult<()> {
        self.inner.check(&fence.core()).py()
    }

    /// Parses a ``tenure-fence`` header value and checks it; returns the fence.
    fn check_header(&self, value: &str) -> PyResult<Fence> {
        self.inner.check_header(value).py().map(Fence::from)
    }

    /// The highest token seen for `lock`, or None.
    fn highest(&self, lock: &str) -> Option<u64> {
        self.inner.highest(lock)
    }
}
