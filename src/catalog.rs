//! Relations found by name in the catalog cache: no statement, and right after the
//! extension is dropped and created again (an OID kept across that would be stale).

use std::ffi::CStr;

use pgrx::pg_sys;

/// The OID of `chronicle.<name>`, or InvalidOid when there is none.
pub fn chronicle_relation(name: &CStr) -> pg_sys::Oid {
    // SAFETY: plain syscache lookups with NUL-terminated names; missing_ok.
    unsafe {
        let namespace = pg_sys::get_namespace_oid(c"chronicle".as_ptr(), true);
        if namespace == pg_sys::InvalidOid {
            return pg_sys::InvalidOid;
        }
        pg_sys::get_relname_relid(name.as_ptr(), namespace)
    }
}

/// The OID of `pg_catalog.<name>`, or InvalidOid when there is none (one lookup).
pub fn catalog_relation(name: &CStr) -> pg_sys::Oid {
    // SAFETY: a plain syscache lookup with a NUL-terminated name.
    unsafe { pg_sys::get_relname_relid(name.as_ptr(), pg_sys::PG_CATALOG_NAMESPACE.into()) }
}
