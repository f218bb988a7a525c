//! Plumbing for the extension's own datum wrappers.

/// Lets a type with `FromDatum`/`IntoDatum` be a `#[pg_extern]` argument and result and be
/// read from tuples, the way pgrx does it for its own types.
macro_rules! function_abi_via_datum {
    ($($ty:ty),*) => {$(
        unsafe impl<'fcx> ::pgrx::callconv::ArgAbi<'fcx> for $ty {
            unsafe fn unbox_arg_unchecked(arg: ::pgrx::callconv::Arg<'_, 'fcx>) -> Self {
                let index = arg.index();
                unsafe { arg.unbox_arg_using_from_datum() }
                    .unwrap_or_else(|| panic!("argument {index} must not be null"))
            }

            unsafe fn unbox_nullable_arg(arg: ::pgrx::callconv::Arg<'_, 'fcx>) -> ::pgrx::nullable::Nullable<Self> {
                unsafe { arg.unbox_arg_using_from_datum() }.into()
            }
        }

        unsafe impl ::pgrx::callconv::BoxRet for $ty {
            unsafe fn box_into<'fcx>(self, fcinfo: &mut ::pgrx::callconv::FcInfo<'fcx>) -> ::pgrx::datum::Datum<'fcx> {
                match ::pgrx::datum::IntoDatum::into_datum(self) {
                    Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
                    None => fcinfo.return_null(),
                }
            }
        }

        unsafe impl ::pgrx::datum::UnboxDatum for $ty {
            type As<'src> = $ty where Self: 'src;

            unsafe fn unbox<'src>(datum: ::pgrx::datum::Datum<'src>) -> Self::As<'src>
            where
                Self: 'src,
            {
                unsafe { <$ty as ::pgrx::datum::FromDatum>::from_datum(datum.sans_lifetime(), false) }
                    .expect("datum is not null")
            }
        }
    )*};
}
