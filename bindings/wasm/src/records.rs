//! The plain records of the admin and read calls, as JS objects, generated from
//! the core's table (`tenure::admin_records!`): no field list is kept here. As
//! in the Node binding, names are camelCase, ids, counters and times (Unix ms)
//! are numbers, tokens bigints, durations numbers of milliseconds under the
//! field's `_ms` name, modes `'exclusive' | 'shared'`. Each record derives its
//! TypeScript interface (tsify) and is serialized by serde-wasm-bindgen.

use serde::Serialize;
use tsify::Tsify;

use crate::errors::{millis, num};

/// Builds one record field by field, one rule per kind of field (the field's
/// Rust type, and for durations its name, depend on the kind), so that the
/// derives see the finished struct. State: the record's docs, its name, the
/// name of the core's record in the conversion (one identifier for every
/// rule, as macro hygiene wants), the fields so far, their conversions so far.
macro_rules! js_record {
    (@fields [$(#[doc = $doc:tt])*] $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Serialize, Tsify)]
        #[serde(rename_all = "camelCase")]
        #[tsify(missing_as_null)]
        pub struct $name {
            $($fields)*
        }

        impl From<tenure::$name> for $name {
            fn from($r: tenure::$name) -> Self {
                $name { $($conv)* }
            }
        }
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident / $ms:ident : $ty:ty => duration,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* #[doc = ""] #[doc = " In milliseconds."] pub $ms: f64,]
            [$($conv)* $ms: millis($r.$field),]
            $($rest)*);
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => mode,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* #[tsify(type = "'exclusive' | 'shared' | 'permits'")] pub $field: String,]
            [$($conv)* $field: $r.$field.code().to_owned(),]
            $($rest)*);
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => change,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* #[tsify(type = "'granted' | 'released' | 'expired' | 'force_released' | 'waiter_added' | 'waiter_removed' | 'value_changed' | 'release_requested'")] pub $field: String,]
            [$($conv)* $field: $r.$field.code().to_owned(),]
            $($rest)*);
    };
    // Fencing tokens: u128 is what serde-wasm-bindgen always makes a bigint.
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => token,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* #[tsify(type = "bigint")] pub $field: u128,]
            [$($conv)* $field: u128::from($r.$field),]
            $($rest)*);
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => opt_id,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* pub $field: Option<f64>,]
            [$($conv)* $field: $r.$field.map(num),]
            $($rest)*);
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => list($inner:ident),
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* pub $field: Vec<$inner>,]
            [$($conv)* $field: $r.$field.into_iter().map($inner::from).collect(),]
            $($rest)*);
    };
    // Ids and times (u64 counters below 2^53): JS numbers.
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => id,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r [$($fields)*] [$($conv)*]
            $(#[doc = $fdoc])* $field : $ty => time, $($rest)*);
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => time,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* pub $field: f64,]
            [$($conv)* $field: num($r.$field),]
            $($rest)*);
    };
    // Counts, text, flags, names, optional text: the core's own type.
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => $kind:ident,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* pub $field: $ty,]
            [$($conv)* $field: $r.$field,]
            $($rest)*);
    };
}

/// One struct and conversion per record of the core's table.
macro_rules! js_records {
    ($($(#[doc = $doc:tt])* $name:ident { $($body:tt)* })*) => {
        $(js_record!(@fields [$(#[doc = $doc])*] $name record [] [] $($body)*);)*
    };
}

tenure::admin_records!(js_records);
