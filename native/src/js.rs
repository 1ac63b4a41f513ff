//! Safe access to JS values for the ops. An [`Env`] stands for the N-API
//! environment of the call being served and a [`Value`] for a JS value
//! N-API gave it; both are tied to that call's lifetime, and only an `Env`
//! makes them. Every helper checks its N-API status and returns a Result
//! whose error says what could not be done, so an op that fails to build
//! its value throws a clear JS error instead of returning half of one.

use crate::napi::*;
use std::ffi::{c_void, CString};
use std::marker::PhantomData;
use std::ptr::null_mut;

pub type JsResult<T> = Result<T, String>;

/// The environment of one N-API call (or threadsafe-function call), usable
/// on its JS thread for as long as `'a`.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    raw: napi_env,
    call: PhantomData<&'a ()>,
}

/// A JS value of one call's scope.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    raw: napi_value,
    call: PhantomData<&'a ()>,
}

impl Value<'_> {
    pub fn raw(self) -> napi_value {
        self.raw
    }
}

/// Arguments an op is given; missing ones read as undefined.
pub struct Args<'a> {
    values: [Value<'a>; Args::MAX],
}

impl<'a> Args<'a> {
    /// More arguments than any op takes.
    pub const MAX: usize = 8;

    pub fn get(&self, i: usize) -> Value<'a> {
        self.values[i]
    }
}

/// Checks a status, naming what failed.
pub fn check(status: napi_status, what: &str) -> JsResult<()> {
    if status == NAPI_OK {
        Ok(())
    } else {
        Err(status_error(status, what))
    }
}

pub fn status_error(status: napi_status, what: &str) -> String {
    format!("cannot {what} (N-API status {status})")
}

impl<'a> Env<'a> {
    /// # Safety
    /// `raw` must be the live environment N-API passed to the callback
    /// being run, and the `Env` (like every `Value` it makes) must not be
    /// used after that callback returns. Both are `!Send`, so they stay on
    /// its JS thread.
    pub unsafe fn from_raw(raw: napi_env) -> Self {
        Env { raw, call: PhantomData }
    }

    /// # Safety
    /// `raw` must be a value N-API handed to this same callback (an
    /// argument, the function of a threadsafe call), or one created in
    /// its scope.
    pub unsafe fn value(self, raw: napi_value) -> Value<'a> {
        Value { raw, call: PhantomData }
    }

    pub fn raw(self) -> napi_env {
        self.raw
    }

    /// The callback's arguments and the `data` pointer its function was made with.
    ///
    /// # Safety
    /// `info` must be the callback info N-API passed with this environment.
    pub unsafe fn args(self, info: napi_callback_info) -> JsResult<(Args<'a>, *mut c_void)> {
        let mut raw = [null_mut(); Args::MAX];
        let mut argc = Args::MAX;
        let mut data = null_mut();
        // SAFETY: `raw` has room for `argc` values; env and info are this call's.
        let status = unsafe { napi_get_cb_info(self.raw, info, &mut argc, raw.as_mut_ptr(), null_mut(), &mut data) };
        check(status, "read the arguments")?;
        let undefined = self.undefined()?;
        let mut values = [undefined; Args::MAX];
        for (v, r) in values.iter_mut().zip(raw).take(argc.min(Args::MAX)) {
            // SAFETY: N-API handed us these values for this call.
            *v = unsafe { self.value(r) };
        }
        Ok((Args { values }, data))
    }

    /// Run an N-API call that makes a value into `out`.
    fn make(self, what: &str, make: impl FnOnce(napi_env, *mut napi_value) -> napi_status) -> JsResult<Value<'a>> {
        let mut out = null_mut();
        check(make(self.raw, &mut out), what)?;
        // SAFETY: N-API just created this value in the current scope.
        Ok(unsafe { self.value(out) })
    }

    // ------------------------------------------------------------ making values
    // In the `unsafe` blocks below, `self.raw` is this call's live
    // environment (the contract of `from_raw`) and every `Value` is of its
    // scope; the SAFETY comments say what else each call relies on.

    pub fn undefined(self) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        self.make("get undefined", |env, out| unsafe { napi_get_undefined(env, out) })
    }

    pub fn null(self) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        self.make("get null", |env, out| unsafe { napi_get_null(env, out) })
    }

    pub fn boolean(self, v: bool) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        self.make("make a boolean", |env, out| unsafe { napi_get_boolean(env, v, out) })
    }

    pub fn uint(self, v: u32) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        self.make("make a number", |env, out| unsafe { napi_create_uint32(env, v, out) })
    }

    pub fn number(self, v: f64) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        self.make("make a number", |env, out| unsafe { napi_create_double(env, v, out) })
    }

    pub fn bigint(self, v: u64) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        self.make("make a bigint", |env, out| unsafe { napi_create_bigint_uint64(env, v, out) })
    }

    pub fn string(self, s: &str) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        self.make("make a string", |env, out| unsafe {
            napi_create_string_utf8(env, s.as_ptr() as *const _, s.len(), out)
        })
    }

    pub fn object(self) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        self.make("make an object", |env, out| unsafe { napi_create_object(env, out) })
    }

    /// An object with these properties.
    pub fn object_of(self, props: &[(&str, Value<'a>)]) -> JsResult<Value<'a>> {
        let o = self.object()?;
        for (k, v) in props {
            self.set(o, k, *v)?;
        }
        Ok(o)
    }

    /// An array of these values.
    pub fn array_of(self, items: impl IntoIterator<Item = JsResult<Value<'a>>>) -> JsResult<Value<'a>> {
        // SAFETY: live env; `out` is a local for the new value.
        let arr = self.make("make an array", |env, out| unsafe { napi_create_array(env, out) })?;
        for (i, item) in items.into_iter().enumerate() {
            let v = item?;
            // SAFETY: live env and values of its scope.
            check(unsafe { napi_set_element(self.raw, arr.raw, i as u32, v.raw) }, "fill an array")?;
        }
        Ok(arr)
    }

    /// A Buffer holding a copy of `bytes`.
    pub fn buffer(self, bytes: &[u8]) -> JsResult<Value<'a>> {
        let mut ignored = null_mut();
        // SAFETY: live env; N-API only reads `bytes`; the out pointers are locals.
        self.make("make a Buffer", |env, out| unsafe {
            napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr() as *const c_void, &mut ignored, out)
        })
    }

    /// A Buffer of `len` bytes written by `fill`, with no copy in between.
    pub fn buffer_with(self, len: usize, fill: impl FnOnce(&mut [u8])) -> JsResult<Value<'a>> {
        let mut data: *mut c_void = null_mut();
        // SAFETY: live env; the out pointers are locals.
        let buf = self.make("make a Buffer", |env, out| unsafe { napi_create_buffer(env, len, &mut data, out) })?;
        if len > 0 {
            // SAFETY: N-API just allocated `len` bytes at `data` for this
            // Buffer, which no JS code has seen yet; the slice ends with `fill`.
            fill(unsafe { std::slice::from_raw_parts_mut(data as *mut u8, len) });
        }
        Ok(buf)
    }

    pub fn set(self, obj: Value<'a>, key: &str, v: Value<'a>) -> JsResult<()> {
        let k = CString::new(key).map_err(|_| format!("property name {key:?} has a NUL"))?;
        // SAFETY: live env and values of its scope; the name is NUL-terminated.
        check(unsafe { napi_set_named_property(self.raw, obj.raw, k.as_ptr(), v.raw) }, "set a property")
    }

    // ------------------------------------------------------------ reading values

    pub fn type_of(self, v: Value<'a>) -> JsResult<i32> {
        let mut t = NAPI_UNDEFINED;
        // SAFETY: live env and a value of its scope; out pointers are locals.
        check(unsafe { napi_typeof(self.raw, v.raw, &mut t) }, "read a value's type")?;
        Ok(t)
    }

    pub fn is_nullish(self, v: Value<'a>) -> JsResult<bool> {
        Ok(matches!(self.type_of(v)?, NAPI_UNDEFINED | NAPI_NULL))
    }

    pub fn get_u32(self, v: Value<'a>, what: &str) -> JsResult<u32> {
        let mut d = 0f64;
        // SAFETY: live env and a value of its scope; out pointers are locals.
        if self.type_of(v)? != NAPI_NUMBER || unsafe { napi_get_value_double(self.raw, v.raw, &mut d) } != NAPI_OK {
            return Err(format!("{what} must be a number"));
        }
        if d.fract() != 0.0 || !(0.0..=u32::MAX as f64).contains(&d) {
            return Err(format!("{what} must be an integer from 0 to {}, not {d}", u32::MAX));
        }
        Ok(d as u32)
    }

    pub fn get_optional_u32(self, v: Value<'a>, what: &str) -> JsResult<Option<u32>> {
        if self.is_nullish(v)? {
            return Ok(None);
        }
        self.get_u32(v, what).map(Some)
    }

    pub fn get_bool(self, v: Value<'a>, what: &str) -> JsResult<bool> {
        let mut b = false;
        // SAFETY: live env and a value of its scope; out pointers are locals.
        if self.type_of(v)? != NAPI_BOOLEAN || unsafe { napi_get_value_bool(self.raw, v.raw, &mut b) } != NAPI_OK {
            return Err(format!("{what} must be true or false"));
        }
        Ok(b)
    }

    pub fn get_bigint(self, v: Value<'a>, what: &str) -> JsResult<u64> {
        let mut n = 0u64;
        let mut lossless = false;
        if self.type_of(v)? != NAPI_BIGINT
            // SAFETY: live env and a value of its scope; out pointers are locals.
            || unsafe { napi_get_value_bigint_uint64(self.raw, v.raw, &mut n, &mut lossless) } != NAPI_OK
            || !lossless
        {
            return Err(format!("{what} must be a bigint from 0 to 2^64-1"));
        }
        Ok(n)
    }

    pub fn get_string(self, v: Value<'a>, what: &str) -> JsResult<String> {
        if self.type_of(v)? != NAPI_STRING {
            return Err(format!("{what} must be a string"));
        }
        let mut len = 0;
        // SAFETY: live env and a value of its scope; out pointers are locals (a string read gets its buffer's true size).
        check(unsafe { napi_get_value_string_utf8(self.raw, v.raw, null_mut(), 0, &mut len) }, "read a string")?;
        let mut buf = vec![0u8; len + 1];
        // SAFETY: live env and a value of its scope; out pointers are locals (a string read gets its buffer's true size).
        let status =
            unsafe { napi_get_value_string_utf8(self.raw, v.raw, buf.as_mut_ptr() as *mut _, len + 1, &mut len) };
        check(status, "read a string")?;
        buf.truncate(len);
        String::from_utf8(buf).map_err(|_| format!("{what} is not valid UTF-8"))
    }

    /// The bytes of a Buffer argument, for the rest of the call.
    pub fn get_buffer(self, v: Value<'a>, what: &str) -> JsResult<&'a [u8]> {
        let mut is_buffer = false;
        // SAFETY: live env and a value of its scope; out pointers are locals.
        check(unsafe { napi_is_buffer(self.raw, v.raw, &mut is_buffer) }, "check for a Buffer")?;
        if !is_buffer {
            return Err(format!("{what} must be a Buffer"));
        }
        let mut data = null_mut();
        let mut len = 0;
        // SAFETY: live env and a value of its scope; out pointers are locals.
        check(unsafe { napi_get_buffer_info(self.raw, v.raw, &mut data, &mut len) }, "read a Buffer")?;
        if len == 0 {
            return Ok(&[]);
        }
        // SAFETY: `v` is rooted for the whole call ('a), so its bytes stay
        // where they are; no JS runs during an op to change them.
        Ok(unsafe { std::slice::from_raw_parts(data as *const u8, len) })
    }

    /// The elements of an array.
    pub fn get_array(self, v: Value<'a>, what: &str) -> JsResult<Vec<Value<'a>>> {
        let mut is_array = false;
        // SAFETY: live env and a value of its scope; out pointers are locals.
        check(unsafe { napi_is_array(self.raw, v.raw, &mut is_array) }, "check for an array")?;
        if !is_array {
            return Err(format!("{what} must be an array"));
        }
        let mut len = 0;
        // SAFETY: live env and a value of its scope; out pointers are locals.
        check(unsafe { napi_get_array_length(self.raw, v.raw, &mut len) }, "read an array's length")?;
        // SAFETY: live env; `out` is a local for the new value.
        (0..len)
            .map(|i| self.make("read an array element", |env, out| unsafe { napi_get_element(env, v.raw, i, out) }))
            .collect()
    }

    // ------------------------------------------------------------ calling and throwing

    /// Call `func` with one argument and `undefined` as `this`.
    pub fn call(self, func: Value<'a>, arg: Value<'a>) -> JsResult<()> {
        let this = self.undefined()?;
        let mut result = null_mut();
        // SAFETY: live env and values of its scope; `arg.raw` is the one argument.
        check(
            unsafe { napi_call_function(self.raw, this.raw, func.raw, 1, &arg.raw, &mut result) },
            "call the event handler",
        )
    }

    /// Throw a JS Error with `msg`, unless an exception is already pending.
    pub fn throw(self, msg: &str) {
        let mut pending = false;
        // SAFETY: live env; `pending` is a local.
        if unsafe { napi_is_exception_pending(self.raw, &mut pending) } == NAPI_OK && !pending {
            let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
            // Nothing is left to report a failure to: the op returns no value either way.
            // SAFETY: live env; the message is a NUL-terminated string.
            unsafe { napi_throw_error(self.raw, null_mut(), c.as_ptr()) };
        }
    }
}
