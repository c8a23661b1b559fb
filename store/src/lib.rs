//! The store: path info, NAR import and export, and the tvix store verbs.
