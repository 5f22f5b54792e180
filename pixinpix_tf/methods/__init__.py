"""Every hiding method behind one interface: `base.Method`, the `registry` that names them, and one module
per family (`networks`, `dct_code`, `baselines`)."""
