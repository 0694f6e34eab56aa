"""Components: one ComponentResource per file, typed Args, children parented to the component."""
