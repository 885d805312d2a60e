//! The plain records of the admin and read calls, as JS objects, generated from
//! the core's table (`tenure::admin_records!`): no field list is kept here. Ids,
//! counters and times (Unix ms) are numbers, tokens bigints, durations numbers
//! of milliseconds under the field's `_ms` name, modes `'exclusive' | 'shared'`.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{millis, num};

/// Builds one record field by field: `#[napi(object)]` reads the struct's
/// tokens before any macro inside it expands (and docs come as `tt`: a
/// `literal` fragment reaches it wrapped, and its TypeScript docs show `r"`), so each kind's JS type is
/// written out by its own rule. State: the record's docs, its name, the name
/// of the core's record in the conversion (one identifier for every rule, as
/// macro hygiene wants), the fields so far, their conversions so far.
macro_rules! js_record {
    (@fields [$(#[doc = $doc:tt])*] $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]) => {
        $(#[doc = $doc])*
        #[napi(object)]
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
            [$($fields)* $(#[doc = $fdoc])* #[doc = "In milliseconds."] pub $ms: f64,]
            [$($conv)* $ms: millis($r.$field),]
            $($rest)*);
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => mode,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* #[napi(ts_type = "'exclusive' | 'shared' | 'permits'")] pub $field: String,]
            [$($conv)* $field: $r.$field.code().to_owned(),]
            $($rest)*);
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => change,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* #[napi(ts_type = "'granted' | 'released' | 'expired' | 'force_released' | 'waiter_added' | 'waiter_removed' | 'value_changed' | 'release_requested'")] pub $field: String,]
            [$($conv)* $field: $r.$field.code().to_owned(),]
            $($rest)*);
    };
    (@fields $docs:tt $name:ident $r:ident [$($fields:tt)*] [$($conv:tt)*]
        $(#[doc = $fdoc:tt])* $(@$serde:literal)? $field:ident : $ty:ty => token,
        $($rest:tt)*) => {
        js_record!(@fields $docs $name $r
            [$($fields)* $(#[doc = $fdoc])* pub $field: BigInt,]
            [$($conv)* $field: BigInt::from($r.$field),]
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
