//! devlic's only door to Microsoft Graph (being written).

pub mod auth;
