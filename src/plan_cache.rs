//! Statements prepared once per backend and kept for its lifetime. The write path runs the
//! same few statements for every row it versions; parsing and planning them every time
//! would cost more than running them. PostgreSQL's plan cache still revalidates a kept
//! plan when a table it uses changes, so a dropped and recreated extension is safe.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{self, PgOid};
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiTupleTable};

/// The text of a statement and the types of its `$n` parameters.
pub struct Statement {
    pub sql: &'static str,
    pub params: &'static [pg_sys::Oid],
}

thread_local! {
    // Keyed by the address of the `static Statement`; a backend is one thread.
    static KEPT: RefCell<HashMap<usize, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

impl Statement {
    /// Runs the statement, preparing it on first use in this backend. Always planned as a
    /// read-write statement, so each run takes a fresh snapshot at READ COMMITTED and
    /// sees what concurrent writers committed while this one waited for a lock.
    pub fn run<'conn>(
        &'static self,
        client: &mut SpiClient<'conn>,
        args: &[DatumWithOid<'_>],
    ) -> SpiTupleTable<'conn> {
        let plan = self.plan(client);
        // The borrow of KEPT is released before running: the statement may fire a
        // trigger that runs kept statements of its own.
        client
            .update(&*plan, None, args)
            .unwrap_or_else(|error| panic!("running kept statement failed: {error}\n{}", self.sql))
    }

    fn plan(&'static self, client: &SpiClient<'_>) -> Rc<OwnedPreparedStatement> {
        let key = self as *const Statement as usize;
        if let Some(plan) = KEPT.with(|kept| kept.borrow().get(&key).cloned()) {
            return plan;
        }
        let params: Vec<PgOid> = self.params.iter().map(|&oid| PgOid::from(oid)).collect();
        let plan = Rc::new(
            client
                .prepare_mut(self.sql, &params)
                .unwrap_or_else(|error| panic!("preparing statement failed: {error}\n{}", self.sql))
                .keep(),
        );
        KEPT.with(|kept| kept.borrow_mut().insert(key, Rc::clone(&plan)));
        plan
    }
}
