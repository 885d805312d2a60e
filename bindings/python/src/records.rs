//! The plain records returned by the admin and read calls, as frozen Python
//! classes with typed, read-only attributes, generated from the core's table
//! (`tenure::admin_records!`): no field list is kept here. Ids, tokens and
//! times (Unix milliseconds) are ints; durations are float seconds; modes are
//! `"exclusive"` or `"shared"`.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

/// The Python type of a field of a kind (see `tenure::admin_records!`).
macro_rules! py_type {
    (id) => { u64 };
    (token) => { u64 };
    (time) => { u64 };
    (count) => { u32 };
    (text) => { String };
    (flag) => { bool };
    (names) => { Vec<String> };
    (mode) => { String };
    (change) => { String };
    (duration) => { f64 };
    (opt_id) => { Option<u64> };
    (opt_text) => { Option<String> };
    (list($inner:ident)) => { Vec<$inner> };
}

/// The Python value of a core field of a kind.
macro_rules! py_value {
    (mode, $v:expr) => {
        $v.code().to_owned()
    };
    (change, $v:expr) => {
        $v.code().to_owned()
    };
    (duration, $v:expr) => {
        $v.as_secs_f64()
    };
    (list($inner:ident), $v:expr) => {
        $v.into_iter().map($inner::from).collect()
    };
    ($kind:ident, $v:expr) => {
        $v
    };
}

/// A frozen class with a readable `repr` per record of the core's table, its
/// conversion from the core's record, and `add_records` to register them all.
macro_rules! py_records {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $(@$serde:literal)? $field:ident $(/ $ms_name:ident)? : $ty:ty => $kind:ident $(($inner:ident))?,
            )*
        }
    )*) => {
        $(
            $(#[doc = $doc])*
            #[pyclass(frozen, get_all, eq, module = "tenure")]
            #[derive(Clone, PartialEq, Debug)]
            pub struct $name {
                $($(#[doc = $fdoc])* pub $field: py_type!($kind $(($inner))?),)*
            }

            impl From<tenure::$name> for $name {
                fn from(r: tenure::$name) -> Self {
                    $name { $($field: py_value!($kind $(($inner))?, r.$field),)* }
                }
            }

            #[pymethods]
            impl $name {
                fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                    let mut parts: Vec<String> = Vec::new();
                    $(
                        let value = self.$field.clone().into_bound_py_any(py)?;
                        parts.push(format!("{}={}", stringify!($field), value.repr()?));
                    )*
                    Ok(format!("{}({})", stringify!($name), parts.join(", ")))
                }
            }
        )*

        /// Adds every record class to the module.
        pub(crate) fn add_records(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(m.add_class::<$name>()?;)*
            Ok(())
        }
    };
}

tenure::admin_records!(py_records);
