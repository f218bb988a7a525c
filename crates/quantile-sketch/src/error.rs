use std::fmt;

/// Everything that can go wrong. The `Display` texts are written for end
/// users: the SQL layer reports them verbatim as error messages.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SketchError {
    /// A NaN or infinite value was added or removed.
    NonFiniteValue(f64),
    /// The requested relative error is not in `[MIN_RELATIVE_ERROR, 0.5)`.
    InvalidRelativeError(f64),
    /// A quantile outside `[0, 1]`, or NaN.
    InvalidQuantile(f64),
    /// A percentile_rank argument that is NaN.
    InvalidValue(f64),
    /// More than `u64::MAX` values in one sketch.
    CountOverflow,
    /// The binary encoding is invalid; the text says what and where.
    MalformedBytes(String),
    /// The text encoding is invalid; the text says what and where.
    MalformedText(String),
}

impl fmt::Display for SketchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SketchError::NonFiniteValue(v) => {
                write!(
                    f,
                    "quantile sketch cannot accept non-finite value {}",
                    show(*v)
                )
            }
            SketchError::InvalidRelativeError(e) => write!(
                f,
                "quantile sketch relative error must be at least {} and less than 0.5, got {}",
                crate::MIN_RELATIVE_ERROR,
                show(*e)
            ),
            SketchError::InvalidQuantile(q) => {
                write!(f, "quantile must be between 0 and 1, got {}", show(*q))
            }
            SketchError::InvalidValue(v) => {
                write!(f, "cannot compute the percentile rank of {}", show(*v))
            }
            SketchError::CountOverflow => {
                write!(
                    f,
                    "quantile sketch cannot hold more than {} values",
                    u64::MAX
                )
            }
            SketchError::MalformedBytes(why) => write!(f, "invalid quantile sketch data: {why}"),
            SketchError::MalformedText(why) => write!(f, "invalid quantile sketch text: {why}"),
        }
    }
}

/// Formats a double the way PostgreSQL spells the special values.
fn show(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        v.to_string()
    }
}

impl std::error::Error for SketchError {}
