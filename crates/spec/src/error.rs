//! Errors of spec loading: every one is located (file, line, column) and says how to fix it.

use std::fmt;
use std::ops::Range;

/// A second location that explains an error, such as the first entry of a duplicate group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The file, as given in [`crate::SourceFile::path`].
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is at that location (for example "first listed here").
    pub label: String,
}

/// One problem in a spec, with its location and a hint to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The file, as given in [`crate::SourceFile::path`].
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
    /// The byte range in the file the error points at, when known.
    pub span: Option<Range<usize>>,
    /// What is wrong (its `Display` is the message).
    pub kind: SpecErrorKind,
    /// One sentence saying how to fix it.
    pub help: String,
    /// Another location that explains the error, if any.
    pub related: Option<Related>,
}

impl SpecError {
    /// The message: what is wrong, without location or help.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.kind
        )
    }
}

impl std::error::Error for SpecError {}

/// Every problem found in a spec, in file order (files in the order given, then by position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors {
    /// The errors; never empty when returned by [`crate::load`].
    pub errors: Vec<SpecError>,
}

impl SpecErrors {
    /// The number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Iterates over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, SpecError> {
        self.errors.iter()
    }
}

impl<'a> IntoIterator for &'a SpecErrors {
    type Item = &'a SpecError;
    type IntoIter = std::slice::Iter<'a, SpecError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// What is wrong with a spec. The `Display` text is the error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecErrorKind {
    /// `load` was given no files at all.
    #[error("no spec files were given")]
    NoSources,
    /// A file is larger than [`crate::MAX_FILE_BYTES`]; it is not parsed at all.
    #[error("the file is larger than the {limit_mib} MiB limit for a spec file")]
    FileTooLarge {
        /// The limit, in MiB.
        limit_mib: usize,
    },
    /// A file is not valid UTF-8 (the location is the first bad byte).
    #[error("the file is not valid UTF-8")]
    InvalidUtf8,
    /// A file holds a NUL or another control byte that YAML text never contains: it is binary,
    /// UTF-16 without a byte order mark, or not a spec at all (`/proc/self/environ`). Its
    /// content is never quoted in the error.
    #[error("the file is not a text file (it holds a NUL or another control byte)")]
    NotText,
    /// A file starts with a UTF-16 byte order mark but is not valid UTF-16.
    #[error("the file is saved as UTF-16 but is not valid UTF-16")]
    InvalidUtf16,
    /// The top level of a file is not a mapping: it is not a devlic spec (for example an
    /// `.env` file). Its content is never quoted in the error.
    #[error("the file is not a devlic spec: its top level is not `key: value` lines")]
    NotASpec,
    /// A value has the wrong shape: a single value or `key: value` lines where a list belongs,
    /// or the reverse. The message says what was expected where, in the spec's own words.
    #[error("{expected}")]
    WrongShape {
        /// What was expected where, e.g. "expected a list of assignments under `assignments:`".
        expected: String,
    },
    /// A file holds no YAML document (empty, or only comments and blank lines).
    #[error("the file is empty")]
    EmptyFile,
    /// The YAML itself is malformed (bad indentation, tabs, unclosed quotes or brackets, ...).
    #[error("invalid YAML: {detail}")]
    Syntax {
        /// The parser's description.
        detail: String,
    },
    /// A mapping has the same key twice (YAML forbids it; keeping either value silently could
    /// assign the wrong license).
    #[error("duplicate key `{key}`")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A field the spec format does not have (often a typo).
    #[error("unknown field `{field}`")]
    UnknownField {
        /// The field as written.
        field: String,
        /// The closest known field, if one is close.
        suggestion: Option<String>,
    },
    /// A value outside a fixed set (`state`, `backend`, `apiVersion`, `kind`).
    #[error("unknown value `{value}`")]
    UnknownValue {
        /// The value as written.
        value: String,
        /// The closest accepted value, if one is close.
        suggestion: Option<String>,
    },
    /// A required field is missing.
    #[error("missing field `{field}`")]
    MissingField {
        /// The missing field.
        field: String,
    },
    /// A value has the wrong type (a list where a string belongs, text where a number belongs, ...).
    #[error("{detail}")]
    InvalidType {
        /// What was found and what was expected.
        detail: String,
    },
    /// The YAML exceeds a resource limit (too many aliases, nodes or nesting levels). This is how
    /// alias bombs ("billion laughs") are stopped.
    #[error("the YAML is too complex: {detail}")]
    ResourceLimit {
        /// Which limit.
        detail: String,
    },
    /// A field that must hold a GUID holds something else.
    #[error("`{value}` is not a GUID")]
    InvalidGuid {
        /// The value as written.
        value: String,
    },
    /// `tenant` is neither a GUID nor a domain name.
    #[error("`{value}` is not a tenant GUID or domain name")]
    InvalidTenant {
        /// The value as written.
        value: String,
    },
    /// `tenant` is written in two files with different values.
    #[error("tenant `{second}` conflicts with tenant `{first}` written in another file")]
    ConflictingTenant {
        /// The value written first.
        first: String,
        /// The value written here.
        second: String,
    },
    /// `settings` is written in more than one file.
    #[error("`settings` is written in more than one file")]
    DuplicateSettings,
    /// `maxRevokePercent` is above 100.
    #[error("maxRevokePercent is {value}, but a percentage is at most 100")]
    PercentOutOfRange {
        /// The value as written.
        value: u64,
    },
    /// A group display name is empty or only spaces.
    #[error("the group name is empty")]
    EmptyGroupName,
    /// A subscription or device SKU that is neither a GUID, a valid part number, a known alias
    /// nor a product name devlic knows.
    #[error("`{value}` is not a skuPartNumber, skuId GUID, product name or known alias")]
    InvalidSkuName {
        /// The value as written.
        value: String,
    },
    /// A subscription looks like an alias (it has dashes) but no device SKU has that alias.
    #[error("unknown subscription alias `{value}`")]
    UnknownAlias {
        /// The value as written.
        value: String,
        /// The part number of the known device SKU it is closest to (by part number, alias or
        /// product name), if one is close.
        suggestion: Option<String>,
    },
    /// A subscription that is not a device SKU devlic knows nor one listed in
    /// `settings.deviceSkus` (devlic only manages device subscriptions), including a user
    /// subscription named by the admin center's product name. The help says what it is, or
    /// "did you mean" the device SKU it is close to.
    #[error("`{value}` is not a known device subscription")]
    NotADeviceSku {
        /// The value as written.
        value: String,
    },
    /// An assignment with `state: present` (the default) has no `subscription`.
    #[error("the assignment has no `subscription`")]
    MissingSubscription,
    /// A service plan name in `disabledPlans` is neither a GUID nor a valid name.
    #[error("`{value}` is not a servicePlanName or servicePlanId GUID")]
    InvalidPlanName {
        /// The value as written.
        value: String,
    },
    /// The same service plan is listed twice in one `disabledPlans`.
    #[error("service plan `{value}` is listed twice")]
    DuplicateDisabledPlan {
        /// The value as written.
        value: String,
    },
    /// `disabledPlans` on an assignment with `state: absent`, which holds nothing to disable.
    #[error("`disabledPlans` has no effect with `state: absent`")]
    DisabledPlansWithAbsent,
    /// `allotment` is set but the backend is not `cloud-licensing`.
    #[error("`allotment` is only used with `settings.backend: cloud-licensing`")]
    AllotmentWithoutCloudLicensing,
    /// The same group is listed twice with the same subscription (or both absent).
    #[error("group {group} is listed twice")]
    DuplicateGroup {
        /// The group as written.
        group: String,
    },
    /// The same group is listed twice with different subscriptions; a group may hold only one
    /// device subscription (the admin center's own rule).
    #[error("group {group} is given two device subscriptions: `{first}` and `{second}`")]
    ConflictingSubscriptions {
        /// The group as written.
        group: String,
        /// The subscription of the first entry.
        first: String,
        /// The subscription of this entry.
        second: String,
    },
    /// `assignments` is empty while `prune: true` would revoke every device subscription.
    #[error(
        "`prune: true` with no assignments would revoke every device subscription in the tenant"
    )]
    EmptyWithPrune,
}

/// `s` with every control character written as its Rust escape (`\t`, `\u{1b}`): still
/// recognisable to the reader, harmless to a terminal.
fn escaped(s: &mut String) {
    if s.chars().any(char::is_control) {
        *s = s
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
    }
}

impl SpecErrorKind {
    /// The same error with control characters in the values it quotes escaped.
    pub(crate) fn escape_controls(mut self) -> SpecErrorKind {
        match &mut self {
            SpecErrorKind::Syntax { detail }
            | SpecErrorKind::InvalidType { detail }
            | SpecErrorKind::ResourceLimit { detail }
            | SpecErrorKind::WrongShape { expected: detail } => escaped(detail),
            SpecErrorKind::DuplicateKey { key: value }
            | SpecErrorKind::MissingField { field: value }
            | SpecErrorKind::InvalidGuid { value }
            | SpecErrorKind::InvalidTenant { value }
            | SpecErrorKind::InvalidSkuName { value }
            | SpecErrorKind::NotADeviceSku { value }
            | SpecErrorKind::InvalidPlanName { value }
            | SpecErrorKind::DuplicateDisabledPlan { value }
            | SpecErrorKind::DuplicateGroup { group: value } => escaped(value),
            SpecErrorKind::UnknownField { field: value, .. }
            | SpecErrorKind::UnknownValue { value, .. }
            | SpecErrorKind::UnknownAlias { value, .. } => escaped(value),
            SpecErrorKind::ConflictingTenant { first, second } => {
                escaped(first);
                escaped(second);
            }
            SpecErrorKind::ConflictingSubscriptions {
                group,
                first,
                second,
            } => {
                escaped(group);
                escaped(first);
                escaped(second);
            }
            SpecErrorKind::NoSources
            | SpecErrorKind::FileTooLarge { .. }
            | SpecErrorKind::InvalidUtf8
            | SpecErrorKind::NotText
            | SpecErrorKind::InvalidUtf16
            | SpecErrorKind::NotASpec
            | SpecErrorKind::EmptyFile
            | SpecErrorKind::DuplicateSettings
            | SpecErrorKind::PercentOutOfRange { .. }
            | SpecErrorKind::EmptyGroupName
            | SpecErrorKind::MissingSubscription
            | SpecErrorKind::DisabledPlansWithAbsent
            | SpecErrorKind::AllotmentWithoutCloudLicensing
            | SpecErrorKind::EmptyWithPrune => {}
        }
        self
    }

    /// Whether a renderer may quote the file's line at the error. False when the file is not
    /// YAML text or not a spec: its bytes could be anything (a symlink to `/proc/self/environ`
    /// holds secrets), so only the location is shown.
    pub fn quotes_source(&self) -> bool {
        !matches!(
            self,
            SpecErrorKind::NotText
                | SpecErrorKind::InvalidUtf8
                | SpecErrorKind::InvalidUtf16
                | SpecErrorKind::NotASpec
                | SpecErrorKind::FileTooLarge { .. }
        )
    }

    /// A stable identifier for machines (the `code` of `devlic validate --format json`).
    pub fn code(&self) -> &'static str {
        match self {
            SpecErrorKind::NoSources => "no-sources",
            SpecErrorKind::FileTooLarge { .. } => "file-too-large",
            SpecErrorKind::InvalidUtf8 => "invalid-utf8",
            SpecErrorKind::NotText => "not-text",
            SpecErrorKind::InvalidUtf16 => "invalid-utf16",
            SpecErrorKind::NotASpec => "not-a-spec",
            SpecErrorKind::WrongShape { .. } => "wrong-shape",
            SpecErrorKind::EmptyFile => "empty-file",
            SpecErrorKind::Syntax { .. } => "syntax",
            SpecErrorKind::DuplicateKey { .. } => "duplicate-key",
            SpecErrorKind::UnknownField { .. } => "unknown-field",
            SpecErrorKind::UnknownValue { .. } => "unknown-value",
            SpecErrorKind::MissingField { .. } => "missing-field",
            SpecErrorKind::InvalidType { .. } => "invalid-type",
            SpecErrorKind::ResourceLimit { .. } => "resource-limit",
            SpecErrorKind::InvalidGuid { .. } => "invalid-guid",
            SpecErrorKind::InvalidTenant { .. } => "invalid-tenant",
            SpecErrorKind::ConflictingTenant { .. } => "conflicting-tenant",
            SpecErrorKind::DuplicateSettings => "duplicate-settings",
            SpecErrorKind::PercentOutOfRange { .. } => "percent-out-of-range",
            SpecErrorKind::EmptyGroupName => "empty-group-name",
            SpecErrorKind::InvalidSkuName { .. } => "invalid-sku-name",
            SpecErrorKind::UnknownAlias { .. } => "unknown-alias",
            SpecErrorKind::NotADeviceSku { .. } => "not-a-device-sku",
            SpecErrorKind::MissingSubscription => "missing-subscription",
            SpecErrorKind::InvalidPlanName { .. } => "invalid-plan-name",
            SpecErrorKind::DuplicateDisabledPlan { .. } => "duplicate-disabled-plan",
            SpecErrorKind::DisabledPlansWithAbsent => "disabled-plans-with-absent",
            SpecErrorKind::AllotmentWithoutCloudLicensing => "allotment-without-cloud-licensing",
            SpecErrorKind::DuplicateGroup { .. } => "duplicate-group",
            SpecErrorKind::ConflictingSubscriptions { .. } => "conflicting-subscriptions",
            SpecErrorKind::EmptyWithPrune => "empty-with-prune",
        }
    }
}
