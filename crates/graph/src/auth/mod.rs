//! Token acquisition for Microsoft Graph (being written).
