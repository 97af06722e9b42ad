# Install rules, exported package and pkg-config file.
