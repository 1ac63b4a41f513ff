//! Everything that crosses the Rust/JS boundary, in one list: each export is
//! an `op_<area>_<verb>[_<noun>]` function. Their TypeScript types are in
//! `native/index.d.ts`; keep the two in step.

use crate::datapath::{Datapath, Event, EventSink, FlowInfo, PortKind, Upcall, UpcallReason, UpcallReply};
use crate::flow::key::{FlowKey, FIELDS, KEY_LEN};
use crate::flow::table::{FlowStats, PutMode};
use crate::napi::*;
use crate::port::tap::TapConfig;
use std::ffi::{c_void, CString};
use std::io;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Event batches allowed in flight to JS before new ones count as lost.
const EVENT_QUEUE_BATCHES: usize = 256;

type OpResult = Result<napi_value, String>;

/// (name, function) for every export.
const OPS: &[(&str, napi_callback)] = &[
    ("op_dp_open", op_dp_open),
    ("op_dp_close", op_dp_close),
    ("op_dp_get_stats", op_dp_get_stats),
    ("op_dp_configure", op_dp_configure),
    ("op_dp_execute", op_dp_execute),
    ("op_upcall_reply", op_upcall_reply),
    ("op_port_add", op_port_add),
    ("op_port_del", op_port_del),
    ("op_port_list", op_port_list),
    ("op_fwd_set", op_fwd_set),
    ("op_flow_put", op_flow_put),
    ("op_flow_find", op_flow_find),
    ("op_flow_get", op_flow_get),
    ("op_flow_del", op_flow_del),
    ("op_flow_flush", op_flow_flush),
    ("op_flow_dump", op_flow_dump),
    ("op_flow_stats_recent", op_flow_stats_recent),
    ("op_flow_key_extract", op_flow_key_extract),
    ("op_flow_key_layout", op_flow_key_layout),
];

/// N-API entry point: Node calls it once per environment that loads the addon.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    for (name, cb) in OPS {
        let mut f = null_mut();
        let cname = CString::new(*name).expect("op names have no NUL");
        napi_create_function(env, cname.as_ptr(), name.len(), *cb, null_mut(), &mut f);
        napi_set_named_property(env, exports, cname.as_ptr(), f);
    }
    exports
}

// ---------------------------------------------------------------- handles

/// What a JS datapath handle (an external) points at. It is shared with the
/// environment cleanup hook, so a process that exits without close() still
/// stops the poll thread before Node tears the environment down.
struct DpHandle {
    dp: Mutex<Option<Datapath>>,
    tsfn: Mutex<Option<Tsfn>>,
    hook_registered: AtomicBool,
}

// SAFETY: every field is Mutex-protected or atomic; Tsfn is thread-safe.
unsafe impl Send for DpHandle {}
// SAFETY: as above.
unsafe impl Sync for DpHandle {}

impl DpHandle {
    fn close(&self) {
        if let Some(mut dp) = self.dp.lock().unwrap_or_else(|p| p.into_inner()).take() {
            dp.close();
        }
        // The poll thread is joined: nobody calls the function any more.
        if let Some(tsfn) = self.tsfn.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // SAFETY: tsfn is a live threadsafe function we acquired once.
            unsafe { napi_release_threadsafe_function(tsfn.0, NAPI_TSFN_RELEASE) };
        }
    }
}

unsafe extern "C" fn cleanup_hook(arg: *mut c_void) {
    let handle = Arc::from_raw(arg as *const DpHandle);
    if handle.hook_registered.swap(false, Ordering::AcqRel) {
        handle.close();
    } else {
        // The finalizer already removed the hook and owns this reference.
        std::mem::forget(handle);
    }
}

unsafe extern "C" fn finalize_handle(env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    let handle = Arc::from_raw(data as *const DpHandle);
    handle.close();
    if handle.hook_registered.swap(false, Ordering::AcqRel) {
        let hook_ref = Arc::as_ptr(&handle) as *mut c_void;
        napi_remove_env_cleanup_hook(env, cleanup_hook, hook_ref);
        drop(Arc::from_raw(hook_ref as *const DpHandle));
    }
}

// ---------------------------------------------------------------- upcalls

struct Tsfn(napi_threadsafe_function);
// SAFETY: threadsafe functions are made to be called from any thread.
unsafe impl Send for Tsfn {}
// SAFETY: as above.
unsafe impl Sync for Tsfn {}

struct TsfnSink {
    tsfn: Tsfn,
    in_flight: Arc<AtomicUsize>,
}

impl EventSink for TsfnSink {
    fn has_room(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) < EVENT_QUEUE_BATCHES
    }

    fn deliver(&self, event: Event) -> bool {
        if self.in_flight.load(Ordering::Acquire) >= EVENT_QUEUE_BATCHES {
            return false;
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let data = Box::into_raw(Box::new(event)) as *mut c_void;
        // SAFETY: non-blocking call, so the poll thread never waits on JS;
        // on failure the event was not queued and we take it back.
        let status = unsafe { napi_call_threadsafe_function(self.tsfn.0, data, NAPI_TSFN_NONBLOCKING) };
        if status != NAPI_OK {
            // SAFETY: the call failed, so `data` is still ours.
            drop(unsafe { Box::from_raw(data as *mut Event) });
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }
}

/// Runs on the JS thread: turn one event into a JS object and call the handler:
/// `{kind: "upcall", upcalls: [{reason, cookie, port, key, frame}]}` or
/// `{kind: "expired", flows: [{id, packets, bytes, tcpFlags}]}`.
unsafe extern "C" fn call_js_event(env: napi_env, func: napi_value, context: *mut c_void, data: *mut c_void) {
    let event = Box::from_raw(data as *mut Event);
    let in_flight = &*(context as *const AtomicUsize);
    in_flight.fetch_sub(1, Ordering::AcqRel);
    if env.is_null() {
        return; // the environment is going away
    }
    let obj = new_object(env);
    match *event {
        Event::Upcalls(ups) => {
            // The whole batch travels as two buffers, unpacked in dpif.ts:
            // an object and two buffers per upcall cost more of the JS
            // thread (allocations, property names, ArrayBuffer sweeping)
            // than answering the upcall did.
            let (data, meta) = pack_upcalls(&ups);
            set_prop(env, obj, "kind", js_string(env, "upcall"));
            set_prop(env, obj, "data", buffer(env, &data));
            set_prop(env, obj, "meta", buffer(env, &meta));
        }
        Event::Expired(flows) => {
            set_prop(env, obj, "kind", js_string(env, "expired"));
            let arr = new_array(env, flows.len());
            for (i, f) in flows.iter().enumerate() {
                let o = new_object(env);
                set_prop(env, o, "id", bigint(env, f.id));
                set_stats(env, o, &f.stats);
                napi_set_element(env, arr, i as u32, o);
            }
            set_prop(env, obj, "flows", arr);
        }
    }
    let mut undefined = null_mut();
    napi_get_undefined(env, &mut undefined);
    let mut result = null_mut();
    napi_call_function(env, undefined, func, 1, &obj, &mut result);
}

/// Words per upcall in the `meta` buffer of an upcall event: port, reason
/// (0 miss, 1 action), key offset, frame offset, frame length, cookie low and
/// high words, all little-endian u32. Keys are KEY_LEN bytes in `data`.
const UPCALL_META_WORDS: usize = 7;

/// Pack a batch of upcalls into (data, meta) for `call_js_event`.
fn pack_upcalls(ups: &[Upcall]) -> (Vec<u8>, Vec<u8>) {
    let mut data = Vec::with_capacity(ups.iter().map(|u| KEY_LEN + u.frame.len()).sum());
    let mut meta = Vec::with_capacity(ups.len() * UPCALL_META_WORDS * 4);
    for up in ups {
        let (reason, cookie) = match up.reason {
            UpcallReason::Miss => (0, 0),
            UpcallReason::Action { cookie } => (1, cookie),
        };
        let key_offset = data.len();
        data.extend_from_slice(up.key.as_bytes());
        let frame_offset = data.len();
        data.extend_from_slice(&up.frame);
        let words = [up.in_port, reason, key_offset as u32, frame_offset as u32, up.frame.len() as u32, cookie as u32, (cookie >> 32) as u32];
        for w in words {
            meta.extend_from_slice(&w.to_le_bytes());
        }
    }
    (data, meta)
}

unsafe extern "C" fn finalize_tsfn_context(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    drop(Arc::from_raw(data as *const AtomicUsize));
}

// ---------------------------------------------------------------- ops

/// op_dp_open(onEvent?: (event) => void): DatapathHandle
unsafe extern "C" fn op_dp_open(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<1>(env, info);
        let mut tsfn_sink = None;
        let mut tsfn_handle = None;
        if value_type(env, args[0]) == NAPI_FUNCTION {
            let in_flight = Arc::new(AtomicUsize::new(0));
            let context = Arc::into_raw(Arc::clone(&in_flight)) as *mut c_void;
            let name = js_string(env, "tvs-datapath-events");
            let mut tsfn = null_mut();
            check(
                napi_create_threadsafe_function(
                    env, args[0], null_mut(), name, 0, 1, context, Some(finalize_tsfn_context), context,
                    Some(call_js_event), &mut tsfn,
                ),
                "create the datapath event function",
            )?;
            // Events alone must not keep Node alive: close() or the cleanup hook ends them.
            napi_unref_threadsafe_function(env, tsfn);
            tsfn_sink = Some(Box::new(TsfnSink { tsfn: Tsfn(tsfn), in_flight }) as Box<dyn EventSink>);
            tsfn_handle = Some(Tsfn(tsfn));
        }
        let dp = Datapath::open(tsfn_sink).map_err(|e| format!("cannot open datapath: {e}"))?;
        let handle = Arc::new(DpHandle {
            dp: Mutex::new(Some(dp)),
            tsfn: Mutex::new(tsfn_handle),
            hook_registered: AtomicBool::new(true),
        });
        napi_add_env_cleanup_hook(env, cleanup_hook, Arc::into_raw(Arc::clone(&handle)) as *mut c_void);
        let mut ext = null_mut();
        check(
            napi_create_external(env, Arc::into_raw(handle) as *mut c_void, Some(finalize_handle), null_mut(), &mut ext),
            "create the datapath handle",
        )?;
        Ok(ext)
    })
}

/// op_dp_close(dp): void — idempotent.
unsafe extern "C" fn op_dp_close(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<1>(env, info);
        let handle = handle(env, args[0])?;
        handle.close();
        Ok(undefined(env))
    })
}

/// op_dp_get_stats(dp): { hit, emcHit, missed, lost, masksProbed, upcalls, actionErrors, upkeeps, flows, masks, flowLimit, maxIdleMs, emcInsertInvProb }
unsafe extern "C" fn op_dp_get_stats(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<1>(env, info);
        with_dp(env, args[0], |dp| {
            let (s, flows, masks, limit, max_idle, emc_inv_prob) = dp.stats();
            let obj = new_object(env);
            for (k, v) in [
                ("hit", s.hit),
                ("emcHit", s.emc_hit),
                ("missed", s.missed),
                ("lost", s.lost),
                ("masksProbed", s.masks_probed),
                ("upcalls", s.upcalls),
                ("actionErrors", s.action_errors),
                ("upkeeps", s.upkeeps),
                ("flows", flows as u64),
                ("masks", masks as u64),
                ("flowLimit", limit as u64),
                ("maxIdleMs", max_idle),
                ("emcInsertInvProb", emc_inv_prob as u64),
            ] {
                set_f64(env, obj, k, v as f64);
            }
            Ok(obj)
        })
    })
}

/// op_dp_configure(dp, flowLimit?: number, maxIdleMs?: number, emcInsertInvProb?: number): void
unsafe extern "C" fn op_dp_configure(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<4>(env, info);
        let limit = optional_u32(env, args[1], "flow limit")?.map(|v| v as usize);
        let idle = optional_u32(env, args[2], "max idle")?.map(|v| v as u64);
        let emc_inv_prob = optional_u32(env, args[3], "emc-insert-inv-prob")?;
        with_dp(env, args[0], |dp| {
            dp.configure(limit, idle, emc_inv_prob);
            Ok(undefined(env))
        })
    })
}

/// op_dp_execute(dp, inPort, frame: Buffer, actions: Buffer): void
unsafe extern "C" fn op_dp_execute(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<4>(env, info);
        let in_port = get_u32(env, args[1], "in_port")?;
        let frame = get_buffer(env, args[2], "frame")?;
        let actions = get_buffer(env, args[3], "actions")?;
        with_dp(env, args[0], |dp| dp.execute(in_port, frame, actions).map(|_| undefined(env)))
    })
}

/// op_upcall_reply(dp, replies: Buffer): [results: Buffer, errors: string[]]
/// — `replies` packed as UpcallReply::unpack reads them. `results` holds 12
/// bytes a reply: a u32 status (0 installed, 1 not installed, 2 refused, for
/// the reason that is the next entry of `errors`), then the flow id (u64),
/// little-endian.
unsafe extern "C" fn op_upcall_reply(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<2>(env, info);
        let replies = UpcallReply::unpack(get_buffer(env, args[1], "replies")?)?;
        with_dp(env, args[0], |dp| {
            let mut results = Vec::with_capacity(replies.len() * 12);
            let errors = new_array(env, 0);
            let mut n_errors = 0;
            for r in dp.upcall_replies(&replies) {
                let (status, id) = match r {
                    Ok(Some(id)) => (0u32, id),
                    Ok(None) => (1, 0),
                    Err(msg) => {
                        napi_set_element(env, errors, n_errors, js_string(env, &msg));
                        n_errors += 1;
                        (2, 0)
                    }
                };
                results.extend_from_slice(&status.to_le_bytes());
                results.extend_from_slice(&id.to_le_bytes());
            }
            let out = new_array(env, 2);
            napi_set_element(env, out, 0, buffer(env, &results));
            napi_set_element(env, out, 1, errors);
            Ok(out)
        })
    })
}

/// op_port_add(dp, type: "system"|"tap", name, portNo, mtu, mac?: Buffer): { port, ifindex }
unsafe extern "C" fn op_port_add(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<6>(env, info);
        let kind = get_string(env, args[1], "type")?;
        let name = get_string(env, args[2], "name")?;
        let port_no = get_u32(env, args[3], "port number")?;
        let kind = match kind.as_str() {
            "system" => PortKind::System,
            "tap" => {
                let mtu = match get_u32(env, args[4], "mtu")? {
                    0 => None,
                    m => Some(m),
                };
                let mac = match value_type(env, args[5]) {
                    NAPI_UNDEFINED | NAPI_NULL => None,
                    _ => {
                        let b = get_buffer(env, args[5], "mac")?;
                        Some(<[u8; 6]>::try_from(b).map_err(|_| "mac must be 6 bytes".to_string())?)
                    }
                };
                PortKind::Tap(TapConfig { mtu, mac })
            }
            other => return Err(format!("unknown port type \"{other}\" (expected \"system\" or \"tap\")")),
        };
        with_dp(env, args[0], |dp| {
            let port = dp.add_port(kind, &name, port_no).map_err(|e| io_message(&e, &name))?;
            let info = dp.ports().into_iter().find(|p| p.port_no == port).map(|p| p.ifindex).unwrap_or(0);
            let obj = new_object(env);
            set_u32(env, obj, "port", port);
            set_u32(env, obj, "ifindex", info);
            Ok(obj)
        })
    })
}

/// op_port_del(dp, portNo): void
unsafe extern "C" fn op_port_del(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<2>(env, info);
        let port = get_u32(env, args[1], "port")?;
        with_dp(env, args[0], |dp| dp.del_port(port).map_err(|e| e.to_string()).map(|_| undefined(env)))
    })
}

/// op_port_list(dp): PortInfo[]
unsafe extern "C" fn op_port_list(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<1>(env, info);
        with_dp(env, args[0], |dp| {
            let ports = dp.ports();
            let mut arr = null_mut();
            napi_create_array_with_length(env, ports.len(), &mut arr);
            for (i, p) in ports.iter().enumerate() {
                let obj = new_object(env);
                set_u32(env, obj, "port", p.port_no);
                set_prop(env, obj, "name", js_string(env, &p.name));
                set_prop(env, obj, "type", js_string(env, p.kind));
                set_u32(env, obj, "ifindex", p.ifindex);
                let mut b = null_mut();
                napi_get_boolean(env, p.detached, &mut b);
                set_prop(env, obj, "detached", b);
                let s = &p.stats;
                let stats = new_object(env);
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
                    set_f64(env, stats, k, v as f64);
                }
                set_prop(env, obj, "stats", stats);
                napi_set_element(env, arr, i as u32, obj);
            }
            Ok(arr)
        })
    })
}

/// op_fwd_set(dp, inPort, outPorts: number[]): void
unsafe extern "C" fn op_fwd_set(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<3>(env, info);
        let in_port = get_u32(env, args[1], "in_port")?;
        let mut is_array = false;
        napi_is_array(env, args[2], &mut is_array);
        if !is_array {
            return Err("out ports must be an array of port numbers".into());
        }
        let mut len = 0;
        napi_get_array_length(env, args[2], &mut len);
        let mut outs = Vec::with_capacity(len as usize);
        for i in 0..len {
            let mut v = null_mut();
            napi_get_element(env, args[2], i, &mut v);
            outs.push(get_u32(env, v, "out port")?);
        }
        with_dp(env, args[0], |dp| dp.set_forward(in_port, outs).map_err(|e| e.to_string()).map(|_| undefined(env)))
    })
}

/// op_flow_put(dp, key, mask, actions, mode: "create"|"modify"|"put", refuseOverlap: boolean): bigint
unsafe extern "C" fn op_flow_put(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<6>(env, info);
        let key = get_key(env, args[1], "key")?;
        let mask = get_key(env, args[2], "mask")?;
        let actions = get_buffer(env, args[3], "actions")?;
        let mode = match get_string(env, args[4], "mode")?.as_str() {
            "create" => PutMode::Create,
            "modify" => PutMode::Modify,
            "put" => PutMode::CreateOrModify,
            other => return Err(format!("unknown flow put mode \"{other}\" (expected create, modify or put)")),
        };
        let mut refuse = false;
        napi_get_value_bool(env, args[5], &mut refuse);
        with_dp(env, args[0], |dp| dp.flow_put(&key, &mask, actions, mode, refuse).map(|id| bigint(env, id)).map_err(|e| e.to_string()))
    })
}

/// op_flow_find(dp, key, mask): bigint | null — the id of the flow installed with exactly this key and mask.
unsafe extern "C" fn op_flow_find(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<3>(env, info);
        let key = get_key(env, args[1], "key")?;
        let mask = get_key(env, args[2], "mask")?;
        with_dp(env, args[0], |dp| Ok(dp.flow_find(&key, &mask).map_or_else(|| null(env), |id| bigint(env, id))))
    })
}

/// op_flow_get(dp, id: bigint): FlowInfo
unsafe extern "C" fn op_flow_get(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<2>(env, info);
        let id = get_bigint(env, args[1], "flow id")?;
        with_dp(env, args[0], |dp| dp.flow_get(id).map(|f| flow_object(env, &f)).map_err(|e| e.to_string()))
    })
}

/// op_flow_del(dp, id: bigint): final stats
unsafe extern "C" fn op_flow_del(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<2>(env, info);
        let id = get_bigint(env, args[1], "flow id")?;
        with_dp(env, args[0], |dp| {
            let stats = dp.flow_del(id).map_err(|e| e.to_string())?;
            let o = new_object(env);
            set_stats(env, o, &stats);
            Ok(o)
        })
    })
}

/// op_flow_flush(dp): number of flows removed
unsafe extern "C" fn op_flow_flush(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<1>(env, info);
        with_dp(env, args[0], |dp| {
            let mut v = null_mut();
            napi_create_double(env, dp.flow_flush() as f64, &mut v);
            Ok(v)
        })
    })
}

/// op_flow_dump(dp): FlowInfo[]
unsafe extern "C" fn op_flow_dump(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<1>(env, info);
        with_dp(env, args[0], |dp| {
            let flows = dp.flow_dump();
            let arr = new_array(env, flows.len());
            for (i, f) in flows.iter().enumerate() {
                napi_set_element(env, arr, i as u32, flow_object(env, f));
            }
            Ok(arr)
        })
    })
}

/// op_flow_stats_recent(dp, withinMs): Buffer — id, packets and bytes (u64
/// little-endian each) of every flow used in the last `withinMs` ms, least
/// recently used first.
unsafe extern "C" fn op_flow_stats_recent(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<2>(env, info);
        let within_ms = get_u32(env, args[1], "withinMs")?;
        with_dp(env, args[0], |dp| {
            let mut packed = Vec::new();
            for (id, stats) in dp.flow_stats_used_within(within_ms as u64) {
                for word in [id, stats.packets, stats.bytes] {
                    packed.extend_from_slice(&word.to_le_bytes());
                }
            }
            Ok(buffer(env, &packed))
        })
    })
}

/// op_flow_key_extract(frame: Buffer, inPort: number): Buffer — the key the datapath would look up.
unsafe extern "C" fn op_flow_key_extract(env: napi_env, info: napi_callback_info) -> napi_value {
    run(env, || {
        let args = args::<2>(env, info);
        let frame = get_buffer(env, args[0], "frame")?;
        let in_port = get_u32(env, args[1], "in_port")?;
        Ok(buffer(env, FlowKey::extract(frame, in_port).as_bytes()))
    })
}

/// op_flow_key_layout(): [name, offset, length][] — the key layout, for the TS mirror to check itself.
unsafe extern "C" fn op_flow_key_layout(env: napi_env, _info: napi_callback_info) -> napi_value {
    run(env, || {
        let arr = new_array(env, FIELDS.len());
        for (i, (name, off, len)) in FIELDS.iter().enumerate() {
            let t = new_array(env, 3);
            napi_set_element(env, t, 0, js_string(env, name));
            let mut v = null_mut();
            napi_create_uint32(env, *off as u32, &mut v);
            napi_set_element(env, t, 1, v);
            napi_create_uint32(env, *len as u32, &mut v);
            napi_set_element(env, t, 2, v);
            napi_set_element(env, arr, i as u32, t);
        }
        Ok(arr)
    })
}

unsafe fn flow_object(env: napi_env, f: &FlowInfo) -> napi_value {
    let o = new_object(env);
    set_prop(env, o, "id", bigint(env, f.id));
    set_prop(env, o, "key", buffer(env, f.key.as_bytes()));
    set_prop(env, o, "mask", buffer(env, f.mask.as_bytes()));
    set_prop(env, o, "actions", buffer(env, &f.actions));
    set_stats(env, o, &f.stats);
    match f.idle_ms {
        Some(ms) => set_f64(env, o, "idleMs", ms as f64),
        None => set_prop(env, o, "idleMs", null(env)),
    }
    o
}

unsafe fn set_stats(env: napi_env, o: napi_value, s: &FlowStats) {
    set_f64(env, o, "packets", s.packets as f64);
    set_f64(env, o, "bytes", s.bytes as f64);
    set_u32(env, o, "tcpFlags", s.tcp_flags as u32);
}

// ---------------------------------------------------------------- helpers

/// Run an op body; turn an Err or a panic into a thrown JS Error.
unsafe fn run(env: napi_env, body: impl FnOnce() -> OpResult) -> napi_value {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(msg)) => throw(env, &msg),
        Err(_) => throw(env, "internal error in the datapath addon (a bug: please report it)"),
    }
}

unsafe fn throw(env: napi_env, msg: &str) -> napi_value {
    let mut pending = false;
    napi_is_exception_pending(env, &mut pending);
    if !pending {
        let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
        napi_throw_error(env, null_mut(), c.as_ptr());
    }
    null_mut()
}

fn check(status: napi_status, what: &str) -> Result<(), String> {
    if status == NAPI_OK {
        Ok(())
    } else {
        Err(format!("cannot {what} (napi status {status})"))
    }
}

fn io_message(e: &io::Error, name: &str) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            format!("port \"{name}\": permission denied (the switch needs CAP_NET_ADMIN and CAP_NET_RAW: run it as root)")
        }
        _ => e.to_string(),
    }
}

unsafe fn args<const N: usize>(env: napi_env, info: napi_callback_info) -> [napi_value; N] {
    let mut argv = [null_mut(); N];
    let mut argc = N;
    napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), null_mut(), null_mut());
    // Missing arguments read as undefined.
    for a in argv.iter_mut().skip(argc) {
        napi_get_undefined(env, a);
    }
    argv
}

unsafe fn handle<'a>(env: napi_env, value: napi_value) -> Result<&'a DpHandle, String> {
    let mut ptr = null_mut();
    if value_type(env, value) != NAPI_EXTERNAL || napi_get_value_external(env, value, &mut ptr) != NAPI_OK {
        return Err("expected a datapath handle from op_dp_open".into());
    }
    // SAFETY: the external keeps its Arc alive while JS holds the value.
    Ok(&*(ptr as *const DpHandle))
}

unsafe fn with_dp(env: napi_env, value: napi_value, f: impl FnOnce(&Datapath) -> OpResult) -> OpResult {
    let handle = handle(env, value)?;
    let guard = handle.dp.lock().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(dp) => f(dp),
        None => Err("datapath is closed: open a new one".into()),
    }
}

unsafe fn value_type(env: napi_env, value: napi_value) -> i32 {
    let mut t = NAPI_UNDEFINED;
    napi_typeof(env, value, &mut t);
    t
}

unsafe fn get_u32(env: napi_env, value: napi_value, what: &str) -> Result<u32, String> {
    let mut d = 0f64;
    if value_type(env, value) != NAPI_NUMBER || napi_get_value_double(env, value, &mut d) != NAPI_OK {
        return Err(format!("{what} must be a number"));
    }
    if d.fract() != 0.0 || !(0.0..=u32::MAX as f64).contains(&d) {
        return Err(format!("{what} must be an integer from 0 to {}, not {d}", u32::MAX));
    }
    Ok(d as u32)
}

unsafe fn get_string(env: napi_env, value: napi_value, what: &str) -> Result<String, String> {
    if value_type(env, value) != NAPI_STRING {
        return Err(format!("{what} must be a string"));
    }
    let mut len = 0;
    napi_get_value_string_utf8(env, value, null_mut(), 0, &mut len);
    let mut buf = vec![0u8; len + 1];
    napi_get_value_string_utf8(env, value, buf.as_mut_ptr() as *mut _, len + 1, &mut len);
    buf.truncate(len);
    String::from_utf8(buf).map_err(|_| format!("{what} is not valid UTF-8"))
}

unsafe fn get_buffer<'a>(env: napi_env, value: napi_value, what: &str) -> Result<&'a [u8], String> {
    let mut is_buffer = false;
    napi_is_buffer(env, value, &mut is_buffer);
    if !is_buffer {
        return Err(format!("{what} must be a Buffer"));
    }
    let mut data = null_mut();
    let mut len = 0;
    napi_get_buffer_info(env, value, &mut data, &mut len);
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: the buffer stays alive (JS holds it) for the op's duration.
    Ok(std::slice::from_raw_parts(data as *const u8, len))
}

unsafe fn optional_u32(env: napi_env, value: napi_value, what: &str) -> Result<Option<u32>, String> {
    match value_type(env, value) {
        NAPI_UNDEFINED | NAPI_NULL => Ok(None),
        _ => get_u32(env, value, what).map(Some),
    }
}

unsafe fn get_bigint(env: napi_env, value: napi_value, what: &str) -> Result<u64, String> {
    let mut v = 0u64;
    let mut lossless = false;
    if value_type(env, value) != NAPI_BIGINT || napi_get_value_bigint_uint64(env, value, &mut v, &mut lossless) != NAPI_OK || !lossless {
        return Err(format!("{what} must be a bigint from 0 to 2^64-1"));
    }
    Ok(v)
}

unsafe fn get_key(env: napi_env, value: napi_value, what: &str) -> Result<FlowKey, String> {
    let b = get_buffer(env, value, what)?;
    FlowKey::from_bytes(b).ok_or_else(|| format!("{what} must be a {KEY_LEN}-byte flow key, not {} bytes", b.len()))
}

unsafe fn null(env: napi_env) -> napi_value {
    let mut v = null_mut();
    napi_get_null(env, &mut v);
    v
}

unsafe fn bigint(env: napi_env, value: u64) -> napi_value {
    let mut v = null_mut();
    napi_create_bigint_uint64(env, value, &mut v);
    v
}

unsafe fn buffer(env: napi_env, bytes: &[u8]) -> napi_value {
    let mut v = null_mut();
    let mut ignored = null_mut();
    napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr() as *const c_void, &mut ignored, &mut v);
    v
}

unsafe fn new_array(env: napi_env, len: usize) -> napi_value {
    let mut v = null_mut();
    napi_create_array_with_length(env, len, &mut v);
    v
}

unsafe fn undefined(env: napi_env) -> napi_value {
    let mut v = null_mut();
    napi_get_undefined(env, &mut v);
    v
}

unsafe fn new_object(env: napi_env) -> napi_value {
    let mut v = null_mut();
    napi_create_object(env, &mut v);
    v
}

unsafe fn js_string(env: napi_env, s: &str) -> napi_value {
    let mut v = null_mut();
    napi_create_string_utf8(env, s.as_ptr() as *const _, s.len(), &mut v);
    v
}

unsafe fn set_prop(env: napi_env, obj: napi_value, key: &str, value: napi_value) {
    let k = CString::new(key).expect("property names have no NUL");
    napi_set_named_property(env, obj, k.as_ptr(), value);
}

unsafe fn set_u32(env: napi_env, obj: napi_value, key: &str, value: u32) {
    let mut v = null_mut();
    napi_create_uint32(env, value, &mut v);
    set_prop(env, obj, key, v);
}

unsafe fn set_f64(env: napi_env, obj: napi_value, key: &str, value: f64) {
    let mut v = null_mut();
    napi_create_double(env, value, &mut v);
    set_prop(env, obj, key, v);
}
