//! `chronicle.sketch_state`: the state of the sketch aggregates as a type of its own.
//!
//! Citus pushes an aggregate down to its workers (partial states there, merged on the
//! coordinator) only when the state type is not `internal`, and it moves partial states
//! through the type's text output and input. So the plain (non-window) aggregates keep
//! their state in this type. In memory it is a read-write expanded object: nodeAgg, and
//! Citus's `worker_partial_agg` alike, hand the same pointer back on every row, so each
//! value is added in place as it was with `internal`; the state is flattened into its
//! varlena only when PostgreSQL stores, copies or ships it. The varlena is the aggregate
//! state's serialized form (quantiles, then the sketch: [`AggState::to_bytes`]).

use std::borrow::Cow;
use std::ffi::CStr;

use pgrx::datum::Internal;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::prelude::*;
use pgrx::{varlena, PgMemoryContexts};

use crate::errors::raise;
use crate::sketch::aggregate::AggState;
use crate::sketch::datum::remaining_message;

/// A `chronicle.sketch_state` datum as PostgreSQL passes it, undecoded: a read-write
/// expanded state this module made, or a flat (possibly toasted) varlena.
pub struct StateDatum(pg_sys::Datum);

unsafe impl SqlTranslatable for StateDatum {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(StateDatum);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::ThisExtension;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> =
        Ok(SqlMappingRef::literal("chronicle.sketch_state"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> = Ok(ReturnsRef::One(
        SqlMappingRef::literal("chronicle.sketch_state"),
    ));
}

impl FromDatum for StateDatum {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        (!is_null).then_some(StateDatum(datum))
    }
}

impl IntoDatum for StateDatum {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.0)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::InvalidOid
    }
}

function_abi_via_datum!(StateDatum);

/// The expanded form: the header PostgreSQL knows, then the state, which lives (and is
/// dropped) with the object's own memory context.
#[repr(C)]
struct ExpandedState {
    header: pg_sys::ExpandedObjectHeader,
    state: *mut AggState,
    /// The flat form, computed by `flat_size` for the `flatten_into` that follows it.
    flat: *mut Vec<u8>,
    /// Whether its context has moved from the aggregate context to the holder ([`adopt`]).
    adopted: bool,
}

static METHODS: pg_sys::ExpandedObjectMethods = pg_sys::ExpandedObjectMethods {
    get_flat_size: Some(flat_size),
    flatten_into: Some(flatten_into),
};

#[pg_guard]
unsafe extern "C-unwind" fn flat_size(header: *mut pg_sys::ExpandedObjectHeader) -> pg_sys::Size {
    let object = header.cast::<ExpandedState>();
    *(*object).flat = (*(*object).state).to_bytes();
    (*(*object).flat).len() + pg_sys::VARHDRSZ
}

#[pg_guard]
unsafe extern "C-unwind" fn flatten_into(
    header: *mut pg_sys::ExpandedObjectHeader,
    result: *mut std::ffi::c_void,
    allocated_size: pg_sys::Size,
) {
    let object = header.cast::<ExpandedState>();
    let bytes = &*(*object).flat;
    assert_eq!(
        allocated_size,
        bytes.len() + pg_sys::VARHDRSZ,
        "sketch_state flattened at another size"
    );
    std::ptr::copy_nonoverlapping(
        bytes.as_ptr(),
        result.cast::<u8>().add(pg_sys::VARHDRSZ),
        bytes.len(),
    );
    varlena::set_varsize_4b(
        result.cast(),
        i32::try_from(allocated_size).expect("a sketch state is far below 1 GB"),
    );
}

/// The expanded state behind a datum, if it is one of ours: read-write only, or either
/// kind when `read_only_too`.
#[inline(always)]
unsafe fn expanded(datum: pg_sys::Datum, read_only_too: bool) -> Option<*mut ExpandedState> {
    let bytes = datum.cast_mut_ptr::<u8>();
    // VARATT_IS_EXTERNAL_EXPANDED: a 1-byte external header, then the expanded tag.
    if *bytes != 0x01 {
        return None;
    }
    let tag = *bytes.add(1);
    if tag != pg_sys::vartag_external::VARTAG_EXPANDED_RW as u8
        && !(read_only_too && tag == pg_sys::vartag_external::VARTAG_EXPANDED_RO as u8)
    {
        return None;
    }
    // DatumGetEOHP, inlined: it runs for every row, and a call into the server costs
    // more than the rest of the transition. The tag is followed by the header's address.
    let header = std::ptr::read_unaligned(bytes.add(2).cast::<*mut pg_sys::ExpandedObjectHeader>());
    std::ptr::eq((*header).eoh_methods, &METHODS).then_some(header.cast())
}

/// A new read-write expanded state in a memory context of its own under `parent`.
fn new_expanded(
    parent: pg_sys::MemoryContext,
    state: AggState,
) -> (StateDatum, &'static mut AggState) {
    unsafe {
        let context = pg_sys::AllocSetContextCreateInternal(
            parent,
            c"chronicle sketch state".as_ptr(),
            pg_sys::ALLOCSET_SMALL_MINSIZE as usize,
            pg_sys::ALLOCSET_SMALL_INITSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
        );
        let object = pg_sys::MemoryContextAlloc(context, std::mem::size_of::<ExpandedState>())
            .cast::<ExpandedState>();
        pg_sys::EOH_init_header(&mut (*object).header, &METHODS, context);
        (*object).state = PgMemoryContexts::For(context).leak_and_drop_on_delete(state);
        (*object).flat = PgMemoryContexts::For(context).leak_and_drop_on_delete(Vec::new());
        (*object).adopted = false;
        placed(parent, object);
        let datum = pg_sys::Datum::from((*object).header.eoh_rw_ptr.as_mut_ptr());
        (StateDatum(datum), &mut *(*object).state)
    }
}

// Where the states live. nodeAgg keeps a state a transition returns in place, without
// copying it, only when the state's context is a child of the aggregate context, so a new
// state is made there. But hash aggregation adds up the memory of every context under the
// aggregate context each time it adds a group: with a context per group, a query with many
// groups became quadratic (100,000 groups took minutes). So once nodeAgg has kept a state
// (by the next call into the same aggregate context), its context moves to a holder beside
// the aggregate context, one per aggregate context, which goes when that context is reset
// or deleted. Each state is still deleted on its own if PostgreSQL deletes it.

/// What is known of one live aggregate context, by address.
struct Placement {
    aggregate_context: usize,
    /// The holder of its kept states; 0 until one is kept.
    holder: usize,
    /// The state made last, not yet moved to the holder; 0 for none.
    pending: usize,
}

thread_local! {
    /// The aggregate contexts making sketch states now (a backend has a few at a time).
    static PLACEMENTS: std::cell::RefCell<Vec<Placement>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn with_placement<R>(aggregate_context: usize, f: impl FnOnce(Option<&mut Placement>) -> R) -> R {
    PLACEMENTS.with(|placements| {
        let mut placements = placements.borrow_mut();
        f(placements
            .iter_mut()
            .find(|p| p.aggregate_context == aggregate_context))
    })
}

/// Forgets an aggregate context, returning its holder if it had one.
fn forget(aggregate_context: usize) -> usize {
    PLACEMENTS.with(|placements| {
        let mut placements = placements.borrow_mut();
        match placements
            .iter()
            .position(|p| p.aggregate_context == aggregate_context)
        {
            Some(index) => placements.swap_remove(index).holder,
            None => 0,
        }
    })
}

/// Dropped when the aggregate context is reset or deleted (states made there but not yet
/// moved go with it): deletes its holder, with the states in it, unless the holder went
/// first.
struct PlacementOwner(usize);

impl Drop for PlacementOwner {
    fn drop(&mut self) {
        let holder = forget(self.0);
        if holder != 0 {
            unsafe { pg_sys::MemoryContextDelete(holder as pg_sys::MemoryContext) };
        }
    }
}

/// Dropped when a holder is deleted: when it goes before its aggregate context (both
/// children of one parent being deleted), the aggregate context is forgotten with it.
struct HolderGone(usize);

impl Drop for HolderGone {
    fn drop(&mut self) {
        forget(self.0);
    }
}

/// Records a state just made in `aggregate_context`, moving the one made before it there
/// to the holder: nodeAgg has kept or copied that one by now.
unsafe fn placed(aggregate_context: pg_sys::MemoryContext, object: *mut ExpandedState) {
    let key = aggregate_context as usize;
    let previous = with_placement(key, |placement| {
        placement.map(|p| std::mem::replace(&mut p.pending, object as usize))
    });
    match previous {
        Some(0) => {}
        Some(previous) => adopt(previous as *mut ExpandedState),
        None => {
            PLACEMENTS.with(|placements| {
                placements.borrow_mut().push(Placement {
                    aggregate_context: key,
                    holder: 0,
                    pending: object as usize,
                })
            });
            PgMemoryContexts::For(aggregate_context).leak_and_drop_on_delete(PlacementOwner(key));
        }
    }
}

/// Moves a kept state from its aggregate context to that context's holder, made beside it
/// (a child of its parent, so that nothing counting the aggregate context's memory walks
/// the states) on first use.
unsafe fn adopt(object: *mut ExpandedState) {
    if (*object).adopted {
        return;
    }
    let context = (*object).header.eoh_context;
    let aggregate_context = (*context).parent;
    let key = aggregate_context as usize;
    let known = with_placement(key, |placement| {
        placement.map(|p| {
            if p.pending == object as usize {
                p.pending = 0;
            }
            p.holder
        })
    });
    let Some(mut holder) = known else {
        // Not made by `new_expanded` in a context we track: leave it where it is.
        return;
    };
    if holder == 0 {
        let made = pg_sys::AllocSetContextCreateInternal(
            (*aggregate_context).parent,
            c"chronicle sketch states".as_ptr(),
            pg_sys::ALLOCSET_SMALL_MINSIZE as usize,
            pg_sys::ALLOCSET_SMALL_INITSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
        );
        PgMemoryContexts::For(made).leak_and_drop_on_delete(HolderGone(key));
        holder = made as usize;
        with_placement(key, |placement| {
            if let Some(p) = placement {
                p.holder = holder;
            }
        });
    }
    pg_sys::MemoryContextSetParent(context, holder as pg_sys::MemoryContext);
    (*object).adopted = true;
}

/// The memory context that outlives the rows of the current aggregate.
pub fn aggregate_context(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::MemoryContext {
    let mut context = std::ptr::null_mut();
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut context) } == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "quantile sketch transition functions can only be called by an aggregate",
        );
    }
    context
}

/// The state a transition may change in place: the argument itself when it is a
/// read-write expanded state (the aggregate owns it), else a new one in the aggregate's
/// context, from the argument's value or from `fresh` when there is none.
pub fn state_for_update(
    arg: Option<StateDatum>,
    fcinfo: pg_sys::FunctionCallInfo,
    fresh: impl FnOnce() -> AggState,
) -> (StateDatum, &'static mut AggState) {
    if let Some(StateDatum(datum)) = arg {
        unsafe {
            if let Some(object) = expanded(datum, false) {
                if !(*object).adopted {
                    adopt(object);
                }
                return (StateDatum(datum), &mut *(*object).state);
            }
        }
        let state = read_state(StateDatum(datum));
        return new_expanded(aggregate_context(fcinfo), state.into_owned());
    }
    new_expanded(aggregate_context(fcinfo), fresh())
}

/// A state to read: the expanded one in place, or one decoded from a flat value.
pub fn read_state(arg: StateDatum) -> Cow<'static, AggState> {
    unsafe {
        if let Some(object) = expanded(arg.0, true) {
            return Cow::Borrowed(&*(*object).state);
        }
        let raw = arg.0.cast_mut_ptr::<pg_sys::varlena>();
        let detoasted = pg_sys::pg_detoast_datum_packed(raw);
        let decoded = AggState::from_bytes(varlena::varlena_to_byte_slice(detoasted));
        if detoasted != raw {
            pg_sys::pfree(detoasted.cast());
        }
        Cow::Owned(decoded.unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
                "malformed quantile sketch aggregate state",
            )
        }))
    }
}

fn flat_datum(state: &AggState) -> StateDatum {
    StateDatum(pg_sys::Datum::from(
        varlena::rust_byte_slice_to_bytea(&state.to_bytes()).into_pg(),
    ))
}

extension_sql!(
    "CREATE TYPE chronicle.sketch_state;",
    name = "sketch_state_shell",
    creates = [Type(StateDatum)],
    requires = ["bootstrap"],
);

#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_state_in(input: &CStr) -> StateDatum {
    let state = input
        .to_str()
        .ok()
        .and_then(AggState::from_text)
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
                "malformed sketch_state text (expected q=<quantiles>;qsketch:<base64>)",
            )
        });
    flat_datum(&state)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_state_out(state: StateDatum) -> &'static CStr {
    let text = read_state(state).to_text();
    unsafe { CStr::from_ptr(PgMemoryContexts::CurrentMemoryContext.pstrdup(&text)) }
}

#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_state_recv(buffer: Internal) -> StateDatum {
    let bytes = remaining_message(buffer);
    let state = AggState::from_bytes(&bytes).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
            "malformed quantile sketch aggregate state",
        )
    });
    flat_datum(&state)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_state_send(state: StateDatum) -> Vec<u8> {
    read_state(state).to_bytes()
}

extension_sql_file!(
    "../../sql/sketch_state.sql",
    name = "sketch_state_type",
    requires = [
        "sketch_state_shell",
        sketch_state_in,
        sketch_state_out,
        sketch_state_recv,
        sketch_state_send
    ],
);
