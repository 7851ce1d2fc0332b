"""The paper's protocol and evaluation: TV annotations, feature files, metrics."""
