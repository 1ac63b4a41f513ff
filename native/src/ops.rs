//! Everything that crosses the Rust/JS boundary, in one list: each export is
//! an `op_<area>_<verb>[_<noun>]` function. Their TypeScript types are in
//! `native/index.d.ts` (a test checks that the two name the same ops), and
//! the packed buffers they pass are defined in `abi.rs`.
//!
//! An op is a safe Rust function of the call's [`Env`] and arguments;
//! `dispatch` is the one N-API callback, which runs the op its function was
//! made for and turns an Err or a panic into a thrown JS Error.

use crate::abi;
use crate::capture::{Bpf, PortCapture};
use crate::datapath::{Datapath, Event, EventSink, FlowInfo, PortKind, UpcallBatch};
use crate::flow::key::{FlowKey, KEY_LEN};
use crate::flow::table::{FlowStats, PutMode};
use crate::js::{check, status_error, Args, Env, JsResult, Value};
use crate::meter::{MeterConfig, MeterStats};
use crate::napi::*;
use crate::port::tap::TapConfig;
use crate::port::tunnel::TunnelKind;
use std::ffi::{c_void, CString};
use std::io;
use std::panic::AssertUnwindSafe;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Events allowed in flight to JS (queued, not yet run) before new ones are
/// refused (and an upcall batch's misses counted as lost).
const EVENT_QUEUE_BATCHES: usize = 256;

type Op = for<'a> fn(Env<'a>, &Args<'a>) -> JsResult<Value<'a>>;

/// (name, op) for every export.
const OPS: &[(&str, Op)] = &[
    ("op_abi_describe", op_abi_describe),
    ("op_dp_open", op_dp_open),
    ("op_dp_close", op_dp_close),
    ("op_dp_get_stats", op_dp_get_stats),
    ("op_dp_configure", op_dp_configure),
    ("op_dp_execute", op_dp_execute),
    ("op_upcall_reply", op_upcall_reply),
    ("op_upcall_finish", op_upcall_finish),
    ("op_port_add", op_port_add),
    ("op_port_del", op_port_del),
    ("op_port_list", op_port_list),
    ("op_port_inject", op_port_inject),
    ("op_port_take_transmitted", op_port_take_transmitted),
    ("op_fwd_set", op_fwd_set),
    ("op_flow_put", op_flow_put),
    ("op_flow_find", op_flow_find),
    ("op_flow_get", op_flow_get),
    ("op_flow_del", op_flow_del),
    ("op_flow_flush", op_flow_flush),
    ("op_flow_dump", op_flow_dump),
    ("op_flow_stats_recent", op_flow_stats_recent),
    ("op_flow_key_extract", op_flow_key_extract),
    ("op_meter_set", op_meter_set),
    ("op_meter_del", op_meter_del),
    ("op_meter_get_stats", op_meter_get_stats),
    ("op_sys_lock_fd", op_sys_lock_fd),
    ("op_sys_trim_memory", op_sys_trim_memory),
    ("op_capture_set", op_capture_set),
    ("op_capture_drain", op_capture_drain),
];

/// N-API entry point: Node calls it once per environment that loads the addon.
///
/// # Safety
/// Only Node calls it, on the loading JS thread, with that environment and
/// its `exports` object.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    // SAFETY: Node passes the live environment and its exports object.
    let (env, exports) = unsafe { (Env::from_raw(env), Env::from_raw(env).value(exports)) };
    let register = || -> JsResult<()> {
        for (name, op) in OPS {
            let cname = CString::new(*name).expect("op names have no NUL");
            let mut f = null_mut();
            // SAFETY: live env; the name is `name.len()` bytes; `dispatch`
            // gets the op back from `data`, a fn pointer that lives forever.
            let status = unsafe {
                napi_create_function(env.raw(), cname.as_ptr(), name.len(), dispatch, *op as *mut c_void, &mut f)
            };
            check(status, &format!("create the function {name}"))?;
            // SAFETY: `f` was just created in this environment.
            env.set(exports, name, unsafe { env.value(f) })?;
        }
        Ok(())
    };
    match register() {
        Ok(()) => exports.raw(),
        Err(e) => {
            env.throw(&format!("cannot load the datapath addon: {e}"));
            null_mut()
        }
    }
}

/// The N-API callback of every op: runs the op its function was made with.
///
/// # Safety
/// Only N-API calls it, on the JS thread, for a function made by
/// `napi_register_module_v1`, whose `data` is an [`Op`].
unsafe extern "C" fn dispatch(raw_env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: N-API passes this call's live environment.
    let env = unsafe { Env::from_raw(raw_env) };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `info` is this call's.
        let (args, data) = unsafe { env.args(info) }?;
        // SAFETY: `data` is the Op this function was registered with
        // (fn pointers and data pointers have the same size here).
        let op = unsafe { std::mem::transmute::<*mut c_void, Op>(data) };
        op(env, &args)
    }));
    match result {
        Ok(Ok(v)) => v.raw(),
        Ok(Err(msg)) => {
            env.throw(&msg);
            null_mut()
        }
        Err(_) => {
            env.throw("internal error in the datapath addon (a bug: please report it)");
            null_mut()
        }
    }
}

// ---------------------------------------------------------------- handles

/// What a JS datapath handle (an N-API external) points at.
///
/// op_dp_open hands two references of its `Arc<DpHandle>` to N-API:
/// - A, owned by the external, released by `finalize_handle` when JS has
///   collected the handle (or the environment is torn down);
/// - B, owned by an environment cleanup hook, which stops the poll thread
///   of a process that exits without close() before Node tears the
///   environment down; released by `cleanup_hook` when the hook runs, or by
///   `finalize_handle` when it removes the hook first (the hook then never
///   runs). `hook_registered` says which happened; both run on the JS
///   thread, so they never race.
struct DpHandle {
    dp: Mutex<Option<Datapath>>,
    tsfn: Mutex<Option<Tsfn>>,
    hook_registered: AtomicBool,
}

/// Type tag of the externals op_dp_open makes, so that no other external
/// is taken for a datapath handle.
static DP_HANDLE_TAG: napi_type_tag = napi_type_tag { lower: 0x7476_735f_6470_5f68, upper: 0x616e_646c_655f_7631 };

impl DpHandle {
    fn close(&self) {
        if let Some(mut dp) = self.dp.lock().unwrap_or_else(|p| p.into_inner()).take() {
            dp.close();
        }
        // The poll thread is joined and no op can reach the datapath: nobody
        // calls the function any more.
        if let Some(tsfn) = self.tsfn.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // SAFETY: a live threadsafe function we acquired once. Its status
            // is not checked: a failure means it is already closing, and
            // there is nothing left to release.
            unsafe { napi_release_threadsafe_function(tsfn.0, NAPI_TSFN_RELEASE) };
        }
    }
}

/// Releases reference B (see [`DpHandle`]).
///
/// # Safety
/// Only N-API calls it, once, on the JS thread, with the `arg` op_dp_open
/// registered: reference B of an `Arc<DpHandle>`.
unsafe extern "C" fn cleanup_hook(arg: *mut c_void) {
    // SAFETY: the hook runs, so it was not removed and B is still its own.
    let b = unsafe { Arc::from_raw(arg as *const DpHandle) };
    b.hook_registered.store(false, Ordering::Release);
    b.close();
}

/// Releases reference A, and B with it when the hook has not run.
///
/// # Safety
/// Only N-API calls it, once, on the JS thread, with the `data` of the
/// external op_dp_open made: reference A of an `Arc<DpHandle>`.
unsafe extern "C" fn finalize_handle(env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: A is the external's, and the external is being finalized.
    let a = unsafe { Arc::from_raw(data as *const DpHandle) };
    a.close();
    if a.hook_registered.load(Ordering::Acquire) {
        let b = Arc::as_ptr(&a) as *mut c_void;
        // SAFETY: removes the hook op_dp_open added with this env and arg.
        if unsafe { napi_remove_env_cleanup_hook(env, cleanup_hook, b) } == NAPI_OK {
            a.hook_registered.store(false, Ordering::Release);
            // SAFETY: the hook is gone, so B is ours to release.
            drop(unsafe { Arc::from_raw(b as *const DpHandle) });
        }
        // Otherwise the hook stays and releases B when it runs.
    }
}

fn handle<'a>(env: Env<'a>, v: Value<'a>) -> JsResult<&'a DpHandle> {
    let not_a_handle = || "expected a datapath handle from op_dp_open".to_string();
    if env.type_of(v)? != NAPI_EXTERNAL {
        return Err(not_a_handle());
    }
    let mut ours = false;
    // SAFETY: live env, a value of its scope, a static tag and a local.
    let status = unsafe { napi_check_object_type_tag(env.raw(), v.raw(), &DP_HANDLE_TAG, &mut ours) };
    check(status, "check a datapath handle")?;
    if !ours {
        return Err(not_a_handle());
    }
    let mut ptr = null_mut();
    // SAFETY: live env, a value of its scope and a local.
    check(unsafe { napi_get_value_external(env.raw(), v.raw(), &mut ptr) }, "read a datapath handle")?;
    // SAFETY: an external with our tag holds reference A of an
    // Arc<DpHandle>, which lives as long as the external, and the external
    // (an argument) lives for the whole call.
    Ok(unsafe { &*(ptr as *const DpHandle) })
}

fn with_dp<T>(env: Env<'_>, v: Value<'_>, f: impl FnOnce(&Datapath) -> JsResult<T>) -> JsResult<T> {
    let handle = handle(env, v)?;
    let guard = handle.dp.lock().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(dp) => f(dp),
        None => Err("datapath is closed: open a new one".into()),
    }
}

// ---------------------------------------------------------------- events

struct Tsfn(napi_threadsafe_function);
// SAFETY: threadsafe functions are made to be called from any thread.
unsafe impl Send for Tsfn {}
// SAFETY: as above.
unsafe impl Sync for Tsfn {}

/// The datapath's events, carried to JS by a threadsafe function.
struct TsfnSink {
    tsfn: Tsfn,
    /// Calls queued and not yet run; the function's context.
    in_flight: Arc<AtomicUsize>,
    /// Whether JS answers upcalls.
    upcalls: bool,
}

impl EventSink for TsfnSink {
    fn takes_upcalls(&self) -> bool {
        self.upcalls && self.in_flight.load(Ordering::Acquire) < EVENT_QUEUE_BATCHES
    }

    fn deliver(&self, event: Event) -> Result<(), Event> {
        if self.in_flight.load(Ordering::Acquire) >= EVENT_QUEUE_BATCHES {
            return Err(event);
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let data = Box::into_raw(Box::new(event)) as *mut c_void;
        // SAFETY: a live function (released only after the poll thread is
        // joined); non-blocking, so the poll thread never waits on JS. On
        // success `call_js_event` takes the Box.
        let status = unsafe { napi_call_threadsafe_function(self.tsfn.0, data, NAPI_TSFN_NONBLOCKING) };
        if status != NAPI_OK {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            // SAFETY: the call failed, so `data` is still ours.
            return Err(*unsafe { Box::from_raw(data as *mut Event) });
        }
        Ok(())
    }
}

/// A threadsafe function calling `func` with each event, and its context.
fn event_function(env: Env<'_>, func: Value<'_>) -> JsResult<(Tsfn, Arc<AtomicUsize>)> {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let context = Arc::into_raw(Arc::clone(&in_flight)) as *mut c_void;
    let name = env.string("tvs-datapath-events")?;
    let mut tsfn = null_mut();
    // SAFETY: live env and values of its scope. On success N-API owns the
    // `context` reference and gives it to `finalize_tsfn_context` once.
    let status = unsafe {
        napi_create_threadsafe_function(
            env.raw(),
            func.raw(),
            null_mut(),
            name.raw(),
            0,
            1,
            context,
            Some(finalize_tsfn_context),
            context,
            Some(call_js_event),
            &mut tsfn,
        )
    };
    if status != NAPI_OK {
        // SAFETY: no function was made, so the reference is still ours.
        drop(unsafe { Arc::from_raw(context as *const AtomicUsize) });
        return Err(status_error(status, "create the datapath event function"));
    }
    // Events alone must not keep Node alive: close() or the cleanup hook ends them.
    // SAFETY: a function just made in this env.
    let status = unsafe { napi_unref_threadsafe_function(env.raw(), tsfn) };
    if let Err(e) = check(status, "unref the datapath event function") {
        // SAFETY: ours, acquired once, and never handed out.
        unsafe { napi_release_threadsafe_function(tsfn, NAPI_TSFN_RELEASE) };
        return Err(e);
    }
    Ok((Tsfn(tsfn), in_flight))
}

/// # Safety
/// Only N-API calls it, once, when the threadsafe function made by
/// `event_function` is finalized, with that function's context.
unsafe extern "C" fn finalize_tsfn_context(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the context reference N-API took over in `event_function`.
    drop(unsafe { Arc::from_raw(data as *const AtomicUsize) });
}

/// Runs on the JS thread for each event: builds its JS object and calls the
/// handler. An upcall batch that cannot be handed over is given up by the
/// datapath's upkeep, its misses counted as lost; nothing here panics into
/// Node or throws into it.
///
/// # Safety
/// Only N-API calls it, for a `TsfnSink::deliver` whose call succeeded:
/// `data` is the `Box<Event>` it made, `context` the function's context
/// (alive until `finalize_tsfn_context`); `env` and `func` are null when
/// the function is being torn down.
unsafe extern "C" fn call_js_event(raw_env: napi_env, func: napi_value, context: *mut c_void, data: *mut c_void) {
    // SAFETY: the Box that `deliver` gave N-API for this call.
    let event = *unsafe { Box::from_raw(data as *mut Event) };
    // SAFETY: the context outlives every call of its function.
    unsafe { &*(context as *const AtomicUsize) }.fetch_sub(1, Ordering::AcqRel);
    if let Event::Upcalls(batch) = &event {
        batch.received();
    }
    let delivered = !raw_env.is_null()
        && std::panic::catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: N-API passes the live environment for this call.
            let env = unsafe { Env::from_raw(raw_env) };
            // SAFETY: the handler the function was made with, passed for this call.
            let handler = unsafe { env.value(func) };
            event_object(env, &event).and_then(|obj| env.call(handler, obj))
        }))
        .is_ok_and(|r| r.is_ok());
    if let (false, Event::Upcalls(batch)) = (delivered, &event) {
        batch.abandon();
    }
}

/// `{kind: "upcall", batch, data, meta}` (see abi.rs),
/// `{kind: "expired", flows: [{id, packets, bytes, tcpFlags}]}` or
/// `{kind: "transmitted", ports: number[]}`.
fn event_object<'a>(env: Env<'a>, event: &Event) -> JsResult<Value<'a>> {
    match event {
        Event::Upcalls(batch) => upcall_batch_object(env, batch),
        Event::Expired(flows) => env.object_of(&[
            ("kind", env.string("expired")?),
            (
                "flows",
                env.array_of(flows.iter().map(|f| {
                    let o = env.object_of(&[("id", env.bigint(f.id)?)])?;
                    set_stats(env, o, &f.stats)?;
                    Ok(o)
                }))?,
            ),
        ]),
        Event::Transmitted(ports) => env.object_of(&[
            ("kind", env.string("transmitted")?),
            ("ports", env.array_of(ports.iter().map(|p| env.uint(*p)))?),
        ]),
    }
}

/// An upcall batch crosses as two buffers written in place, unpacked in
/// dpif.ts: an object and two buffers per upcall cost more of the JS
/// thread (allocations, property names, ArrayBuffer sweeping) than
/// answering the upcall did.
fn upcall_batch_object<'a>(env: Env<'a>, batch: &UpcallBatch) -> JsResult<Value<'a>> {
    let (data_len, meta_len) = abi::upcall_batch_lens(&batch.upcalls);
    env.object_of(&[
        ("kind", env.string("upcall")?),
        ("batch", env.uint(batch.id)?),
        ("data", env.buffer_with(data_len, |data| abi::pack_upcall_data(&batch.upcalls, data))?),
        ("meta", env.buffer_with(meta_len, |meta| abi::pack_upcall_meta(&batch.upcalls, meta))?),
    ])
}

// ---------------------------------------------------------------- ops

/// op_abi_describe(): Record<string, number> — every constant of abi.rs.
fn op_abi_describe<'a>(env: Env<'a>, _args: &Args<'a>) -> JsResult<Value<'a>> {
    let o = env.object()?;
    for (name, v) in abi::describe() {
        env.set(o, &name, env.number(v as f64)?)?;
    }
    Ok(o)
}

/// op_dp_open(onEvent?: (event) => void, upcalls?: boolean): DatapathHandle
fn op_dp_open<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let upcalls = !env.is_nullish(args.get(1))? && env.get_bool(args.get(1), "upcalls")?;
    let (sink, tsfn) = match env.type_of(args.get(0))? {
        NAPI_FUNCTION => {
            let (tsfn, in_flight) = event_function(env, args.get(0))?;
            let sink = TsfnSink { tsfn: Tsfn(tsfn.0), in_flight, upcalls };
            (Some(Box::new(sink) as Box<dyn EventSink>), Some(tsfn))
        }
        _ if upcalls => return Err("upcalls need an event handler".into()),
        _ => (None, None),
    };
    let handle =
        Arc::new(DpHandle { dp: Mutex::new(None), tsfn: Mutex::new(tsfn), hook_registered: AtomicBool::new(false) });
    match Datapath::open(sink) {
        Ok(dp) => *handle.dp.lock().unwrap_or_else(|p| p.into_inner()) = Some(dp),
        Err(e) => {
            handle.close();
            return Err(format!("cannot open datapath: {e}"));
        }
    }
    let a = Arc::into_raw(Arc::clone(&handle)) as *mut c_void;
    let mut ext = null_mut();
    // SAFETY: live env. On success N-API owns reference A and gives it to
    // `finalize_handle` once.
    let status = unsafe { napi_create_external(env.raw(), a, Some(finalize_handle), null_mut(), &mut ext) };
    if status != NAPI_OK {
        // SAFETY: no external was made, so A is still ours.
        drop(unsafe { Arc::from_raw(a as *const DpHandle) });
        handle.close();
        return Err(status_error(status, "create the datapath handle"));
    }
    // SAFETY: the external was just made in this env.
    let ext = unsafe { env.value(ext) };
    // From here a failure leaves the external to its finalizer, which closes
    // an already closed datapath and releases A.
    let fail = |e: String| -> JsResult<Value<'a>> {
        handle.close();
        Err(e)
    };
    // SAFETY: live env, a value of its scope and a static tag.
    let status = unsafe { napi_type_tag_object(env.raw(), ext.raw(), &DP_HANDLE_TAG) };
    if let Err(e) = check(status, "tag the datapath handle") {
        return fail(e);
    }
    let b = Arc::into_raw(Arc::clone(&handle)) as *mut c_void;
    handle.hook_registered.store(true, Ordering::Release);
    // SAFETY: live env. On success the hook owns reference B (see DpHandle).
    let status = unsafe { napi_add_env_cleanup_hook(env.raw(), cleanup_hook, b) };
    if let Err(e) = check(status, "register the datapath's cleanup") {
        handle.hook_registered.store(false, Ordering::Release);
        // SAFETY: no hook was added, so B is still ours.
        drop(unsafe { Arc::from_raw(b as *const DpHandle) });
        return fail(e);
    }
    Ok(ext)
}

/// op_dp_close(dp): void — idempotent.
fn op_dp_close<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    handle(env, args.get(0))?.close();
    env.undefined()
}

/// op_dp_get_stats(dp): { hit, emcHit, missed, lost, masksProbed, upcalls, upcallsQueued, actionErrors, upkeeps, flows, masks, flowLimit, maxIdleMs, emcInsertInvProb }
fn op_dp_get_stats<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let (s, flows, masks, limit, max_idle, emc_inv_prob) = with_dp(env, args.get(0), |dp| Ok(dp.stats()))?;
    let o = env.object()?;
    for (k, v) in [
        ("hit", s.hit),
        ("emcHit", s.emc_hit),
        ("missed", s.missed),
        ("lost", s.lost),
        ("masksProbed", s.masks_probed),
        ("upcalls", s.upcalls),
        ("upcallsQueued", s.upcalls_queued),
        ("actionErrors", s.action_errors),
        ("upkeeps", s.upkeeps),
        ("flows", flows as u64),
        ("masks", masks as u64),
        ("flowLimit", limit as u64),
        ("maxIdleMs", max_idle),
        ("emcInsertInvProb", emc_inv_prob as u64),
    ] {
        env.set(o, k, env.number(v as f64)?)?;
    }
    Ok(o)
}

/// op_dp_configure(dp, flowLimit?: number, maxIdleMs?: number, emcInsertInvProb?: number): void
fn op_dp_configure<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let limit = env.get_optional_u32(args.get(1), "flow limit")?.map(|v| v as usize);
    let idle = env.get_optional_u32(args.get(2), "max idle")?.map(|v| v as u64);
    let emc_inv_prob = env.get_optional_u32(args.get(3), "emc-insert-inv-prob")?;
    with_dp(env, args.get(0), |dp| {
        dp.configure(limit, idle, emc_inv_prob);
        Ok(())
    })?;
    env.undefined()
}

/// op_dp_execute(dp, inPort, frame: Buffer, actions: Buffer): void
fn op_dp_execute<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let in_port = env.get_u32(args.get(1), "in_port")?;
    let frame = env.get_buffer(args.get(2), "frame")?;
    let actions = env.get_buffer(args.get(3), "actions")?;
    with_dp(env, args.get(0), |dp| dp.execute(in_port, frame, actions))?;
    env.undefined()
}

/// op_upcall_reply(dp, replies: Buffer): [results: Buffer, errors: string[]]
/// — both packed as abi.rs says: a result per reply, and the text of each
/// refused one, in order.
fn op_upcall_reply<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let replies = abi::unpack_replies(env.get_buffer(args.get(1), "replies")?)?;
    let outcomes = with_dp(env, args.get(0), |dp| Ok(dp.upcall_replies(&replies)))?;
    let mut results = Vec::with_capacity(outcomes.len() * abi::RESULT_LEN);
    for r in &outcomes {
        abi::push_result(&mut results, r);
    }
    let errors = env.array_of(outcomes.iter().filter_map(|r| r.as_ref().err()).map(|msg| env.string(msg)))?;
    env.array_of([env.buffer(&results), Ok(errors)])
}

/// op_upcall_finish(dp, batch: number): void — the slow path is done with
/// the batch: the datapath gives up its unanswered upcalls.
fn op_upcall_finish<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let batch = env.get_u32(args.get(1), "batch")?;
    with_dp(env, args.get(0), |dp| {
        dp.finish_upcalls(batch);
        Ok(())
    })?;
    env.undefined()
}

/// op_port_add(dp, type: "system"|"tap"|"dummy"|"patch"|"vxlan"|"geneve"|"gre", name, portNo, mtu,
/// mac?: Buffer, peer?: string, dstPort: number (tunnels; 0 = the IANA port)): { port, ifindex }
fn op_port_add<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let kind = env.get_string(args.get(1), "type")?;
    let name = env.get_string(args.get(2), "name")?;
    let port_no = env.get_u32(args.get(3), "port number")?;
    let kind = match kind.as_str() {
        "system" => PortKind::System,
        "tap" => {
            let mtu = match env.get_u32(args.get(4), "mtu")? {
                0 => None,
                m => Some(m),
            };
            let mac = match env.is_nullish(args.get(5))? {
                true => None,
                false => {
                    let b = env.get_buffer(args.get(5), "mac")?;
                    Some(<[u8; 6]>::try_from(b).map_err(|_| "mac must be 6 bytes".to_string())?)
                }
            };
            PortKind::Tap(TapConfig { mtu, mac })
        }
        "dummy" => PortKind::Dummy,
        "patch" => PortKind::Patch { peer: env.get_string(args.get(6), &format!("patch port \"{name}\": peer"))? },
        "vxlan" | "geneve" | "gre" => {
            let tunnel = match kind.as_str() {
                "vxlan" => TunnelKind::Vxlan,
                "geneve" => TunnelKind::Geneve,
                _ => TunnelKind::Gre,
            };
            let udp_port = env.get_u32(args.get(7), "dst_port")?;
            let udp_port = u16::try_from(udp_port)
                .map_err(|_| format!("port \"{name}\": dst_port {udp_port} is not a UDP port (1-65535)"))?;
            if tunnel == TunnelKind::Gre && udp_port != 0 {
                return Err(format!("port \"{name}\": a gre port has no dst_port (GRE is not carried in UDP)"));
            }
            PortKind::Tunnel { kind: tunnel, udp_port }
        }
        other => {
            return Err(format!(
                "unknown port type \"{other}\" (expected system, tap, dummy, patch, vxlan, geneve or gre)"
            ))
        }
    };
    let (port, ifindex) = with_dp(env, args.get(0), |dp| {
        let port = dp.add_port(kind, &name, port_no).map_err(|e| io_message(&e, &name))?;
        let ifindex = dp.ports().into_iter().find(|p| p.port_no == port).map_or(0, |p| p.ifindex);
        Ok((port, ifindex))
    })?;
    env.object_of(&[("port", env.uint(port)?), ("ifindex", env.uint(ifindex)?)])
}

/// op_port_del(dp, portNo): void
fn op_port_del<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let port = env.get_u32(args.get(1), "port")?;
    with_dp(env, args.get(0), |dp| dp.del_port(port).map_err(|e| e.to_string()))?;
    env.undefined()
}

/// op_port_list(dp): PortInfo[]
fn op_port_list<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let ports = with_dp(env, args.get(0), |dp| Ok(dp.ports()))?;
    env.array_of(ports.iter().map(|p| {
        let s = &p.stats;
        let stats = env.object()?;
        for (k, v) in [
            ("rxPackets", s.rx_packets),
            ("rxBytes", s.rx_bytes),
            ("rxDropped", s.rx_dropped),
            ("rxErrors", s.rx_errors),
            ("txPackets", s.tx_packets),
            ("txBytes", s.tx_bytes),
            ("txDropped", s.tx_dropped),
            ("txErrors", s.tx_errors),
        ] {
            env.set(stats, k, env.number(v as f64)?)?;
        }
        env.object_of(&[
            ("port", env.uint(p.port_no)?),
            ("name", env.string(&p.name)?),
            ("type", env.string(p.kind)?),
            ("ifindex", env.uint(p.ifindex)?),
            ("detached", env.boolean(p.detached)?),
            ("stats", stats),
            ("upcallsLost", env.number(p.upcalls_lost as f64)?),
        ])
    }))
}

/// op_port_inject(dp, port, frames: Buffer[]): number — frames queued on a
/// dummy port as if received; those beyond its queue count as rx_dropped.
fn op_port_inject<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let port = env.get_u32(args.get(1), "port")?;
    let frames = env
        .get_array(args.get(2), "frames")?
        .into_iter()
        .enumerate()
        .map(|(i, f)| env.get_buffer(f, &format!("frame {i}")))
        .collect::<JsResult<Vec<&[u8]>>>()?;
    let queued = with_dp(env, args.get(0), |dp| dp.inject(port, &frames).map_err(|e| e.to_string()))?;
    env.uint(queued as u32)
}

/// op_port_take_transmitted(dp, port): Buffer[] — the frames a dummy port
/// sent since the last call, oldest first.
fn op_port_take_transmitted<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let port = env.get_u32(args.get(1), "port")?;
    let frames = with_dp(env, args.get(0), |dp| dp.take_transmitted(port).map_err(|e| e.to_string()))?;
    env.array_of(frames.iter().map(|f| env.buffer(f)))
}

/// op_fwd_set(dp, inPort, outPorts: number[]): void
fn op_fwd_set<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let in_port = env.get_u32(args.get(1), "in_port")?;
    let outs = env
        .get_array(args.get(2), "out ports")?
        .into_iter()
        .map(|v| env.get_u32(v, "out port"))
        .collect::<JsResult<Vec<u32>>>()?;
    with_dp(env, args.get(0), |dp| dp.set_forward(in_port, outs).map_err(|e| e.to_string()))?;
    env.undefined()
}

/// op_flow_put(dp, key, mask, actions, mode: "create"|"modify"|"put", refuseOverlap: boolean): bigint
fn op_flow_put<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let key = get_key(env, args.get(1), "key")?;
    let mask = get_key(env, args.get(2), "mask")?;
    let actions = env.get_buffer(args.get(3), "actions")?;
    let mode = match env.get_string(args.get(4), "mode")?.as_str() {
        "create" => PutMode::Create,
        "modify" => PutMode::Modify,
        "put" => PutMode::CreateOrModify,
        other => return Err(format!("unknown flow put mode \"{other}\" (expected create, modify or put)")),
    };
    let refuse = env.get_bool(args.get(5), "refuseOverlap")?;
    let id =
        with_dp(env, args.get(0), |dp| dp.flow_put(&key, &mask, actions, mode, refuse).map_err(|e| e.to_string()))?;
    env.bigint(id)
}

/// op_flow_find(dp, key, mask): bigint | null — the id of the flow installed with exactly this key and mask.
fn op_flow_find<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let key = get_key(env, args.get(1), "key")?;
    let mask = get_key(env, args.get(2), "mask")?;
    match with_dp(env, args.get(0), |dp| Ok(dp.flow_find(&key, &mask)))? {
        Some(id) => env.bigint(id),
        None => env.null(),
    }
}

/// op_flow_get(dp, id: bigint): FlowInfo
fn op_flow_get<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let id = env.get_bigint(args.get(1), "flow id")?;
    let flow = with_dp(env, args.get(0), |dp| dp.flow_get(id).map_err(|e| e.to_string()))?;
    flow_object(env, &flow)
}

/// op_flow_del(dp, id: bigint): final stats
fn op_flow_del<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let id = env.get_bigint(args.get(1), "flow id")?;
    let stats = with_dp(env, args.get(0), |dp| dp.flow_del(id).map_err(|e| e.to_string()))?;
    let o = env.object()?;
    set_stats(env, o, &stats)?;
    Ok(o)
}

/// op_flow_flush(dp): number of flows removed
fn op_flow_flush<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let n = with_dp(env, args.get(0), |dp| Ok(dp.flow_flush()))?;
    env.number(n as f64)
}

/// op_flow_dump(dp): FlowInfo[]
fn op_flow_dump<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let flows = with_dp(env, args.get(0), |dp| Ok(dp.flow_dump()))?;
    env.array_of(flows.iter().map(|f| flow_object(env, f)))
}

/// op_flow_stats_recent(dp, withinMs): Buffer — the counters of every flow
/// used in the last `withinMs` ms, least recently used first, packed as abi.rs says.
fn op_flow_stats_recent<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let within_ms = env.get_u32(args.get(1), "withinMs")?;
    let recent = with_dp(env, args.get(0), |dp| Ok(dp.flow_stats_used_within(within_ms as u64)))?;
    let mut packed = Vec::with_capacity(recent.len() * abi::RECENT_LEN);
    for (id, stats, idle_ms) in recent {
        abi::push_recent(&mut packed, id, stats.packets, stats.bytes, idle_ms);
    }
    env.buffer(&packed)
}

/// op_meter_set(dp, id, pktps: boolean, bands: Buffer): void — bands packed as abi.rs says.
fn op_meter_set<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let id = env.get_u32(args.get(1), "meter id")?;
    let pktps = env.get_bool(args.get(2), "pktps")?;
    let bands = abi::unpack_meter_bands(env.get_buffer(args.get(3), "meter bands")?)?;
    let config = MeterConfig { pktps, bands };
    with_dp(env, args.get(0), |dp| dp.meter_set(id, &config).map_err(|e| e.to_string()))?;
    env.undefined()
}

/// op_meter_del(dp, id): MeterStats | null — the meter's last counters, null if there was none.
fn op_meter_del<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let id = env.get_u32(args.get(1), "meter id")?;
    match with_dp(env, args.get(0), |dp| Ok(dp.meter_del(id)))? {
        Some(s) => meter_stats_object(env, &s),
        None => env.null(),
    }
}

/// op_meter_get_stats(dp, id): MeterStats | null
fn op_meter_get_stats<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let id = env.get_u32(args.get(1), "meter id")?;
    match with_dp(env, args.get(0), |dp| Ok(dp.meter_stats(id)))? {
        Some(s) => meter_stats_object(env, &s),
        None => env.null(),
    }
}

fn meter_stats_object<'a>(env: Env<'a>, s: &MeterStats) -> JsResult<Value<'a>> {
    let bands = env.array_of(s.bands.iter().map(|&(packets, bytes)| {
        env.object_of(&[("packets", env.number(packets as f64)?), ("bytes", env.number(bytes as f64)?)])
    }))?;
    env.object_of(&[
        ("packets", env.number(s.packets as f64)?),
        ("bytes", env.number(s.bytes as f64)?),
        ("bands", bands),
    ])
}

/// op_flow_key_extract(frame: Buffer, inPort: number): Buffer — the key the datapath would look up.
fn op_flow_key_extract<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let frame = env.get_buffer(args.get(0), "frame")?;
    let in_port = env.get_u32(args.get(1), "in_port")?;
    env.buffer(FlowKey::extract(frame, in_port).as_bytes())
}

/// op_sys_lock_fd(fd): boolean — takes the lock file open on `fd` (see
/// lockfile.rs): true once held through `fd`, false when another open holds it.
fn op_sys_lock_fd<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let fd = env.get_u32(args.get(0), "fd")?;
    let fd = i32::try_from(fd).map_err(|_| format!("{fd} is not a file descriptor"))?;
    let held = crate::lockfile::try_lock_exclusive(fd).map_err(|e| format!("cannot lock file descriptor {fd}: {e}"))?;
    env.boolean(held)
}

/// op_sys_trim_memory(): boolean — malloc_trim(0): the allocator's free memory
/// back to the kernel; whether any was released.
fn op_sys_trim_memory<'a>(env: Env<'a>, _args: &Args<'a>) -> JsResult<Value<'a>> {
    env.boolean(crate::sys::trim_malloc())
}

/// op_capture_set(dp, port, directions, snaplen, filter: Buffer | null): void —
/// capture `port` (directions CAPTURE_DIR_IN | CAPTURE_DIR_OUT; 0 stops it),
/// keeping `snaplen` bytes of each frame its classic BPF `filter` (if any) takes.
fn op_capture_set<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let port = env.get_u32(args.get(1), "port")?;
    let directions = env.get_u32(args.get(2), "directions")?;
    let snaplen = env.get_u32(args.get(3), "snaplen")?;
    let filter = match env.is_nullish(args.get(4))? {
        true => None,
        false => Some(Bpf::new(abi::unpack_bpf(env.get_buffer(args.get(4), "filter")?)?)?),
    };
    let config = (directions != 0).then_some(PortCapture { directions: directions as u8, snaplen, filter });
    with_dp(env, args.get(0), |dp| dp.capture_set(port, config).map_err(|e| e.to_string()))?;
    env.undefined()
}

/// op_capture_drain(dp): { records: Buffer, lost: number } — the frames
/// captured since the last call (packed as abi.rs's CAPTURE_* says), and how
/// many the full capture ring lost meanwhile.
fn op_capture_drain<'a>(env: Env<'a>, args: &Args<'a>) -> JsResult<Value<'a>> {
    let (records, lost) = with_dp(env, args.get(0), |dp| Ok(dp.capture_drain()))?;
    env.object_of(&[("records", env.buffer(&records)?), ("lost", env.number(lost as f64)?)])
}

// ---------------------------------------------------------------- helpers

fn flow_object<'a>(env: Env<'a>, f: &FlowInfo) -> JsResult<Value<'a>> {
    let o = env.object_of(&[
        ("id", env.bigint(f.id)?),
        ("key", env.buffer(f.key.as_bytes())?),
        ("mask", env.buffer(f.mask.as_bytes())?),
        ("actions", env.buffer(&f.actions)?),
        ("idleMs", f.idle_ms.map_or_else(|| env.null(), |ms| env.number(ms as f64))?),
    ])?;
    set_stats(env, o, &f.stats)?;
    Ok(o)
}

fn set_stats<'a>(env: Env<'a>, o: Value<'a>, s: &FlowStats) -> JsResult<()> {
    env.set(o, "packets", env.number(s.packets as f64)?)?;
    env.set(o, "bytes", env.number(s.bytes as f64)?)?;
    env.set(o, "tcpFlags", env.uint(s.tcp_flags as u32)?)
}

fn get_key(env: Env<'_>, v: Value<'_>, what: &str) -> JsResult<FlowKey> {
    let b = env.get_buffer(v, what)?;
    FlowKey::from_bytes(b).ok_or_else(|| format!("{what} must be a {KEY_LEN}-byte flow key, not {} bytes", b.len()))
}

fn io_message(e: &io::Error, name: &str) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            format!("port \"{name}\": permission denied (the switch needs CAP_NET_ADMIN and CAP_NET_RAW: run it as root, or use dummy and patch ports)")
        }
        _ => e.to_string(),
    }
}
