#!/usr/bin/env bash
# Builds Carbon's packages: packaging/build.sh deb|rpm|all
#
# Installs the cargo subcommands it needs (cargo-deb, cargo-generate-rpm) when they
# are missing, builds carbond and carbonctl in release mode, writes the generated
# files (man pages, completions, units with the installed paths) under
# target/packaging/, and leaves the packages in target/packages/. docs/install.md
# describes what goes where.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case $what in
deb | rpm | all) ;;
*)
    echo "usage: packaging/build.sh deb|rpm|all" >&2
    exit 2
    ;;
esac

# The package metadata names target/release and target/packaging relative to the
# workspace, so the default target directory is required.
if [ -n "${CARGO_TARGET_DIR:-}" ] && [ "$(realpath -m "$CARGO_TARGET_DIR")" != "$PWD/target" ]; then
    echo "packaging/build.sh: unset CARGO_TARGET_DIR (the package metadata uses ./target)" >&2
    exit 2
fi

need_subcommand() { # name crate
    if ! cargo "$1" --version >/dev/null 2>&1; then
        echo "== installing $2"
        cargo install "$2" --locked
    fi
}
[ "$what" = rpm ] || need_subcommand deb cargo-deb
[ "$what" = deb ] || need_subcommand generate-rpm cargo-generate-rpm

# dpkg-shlibdeps computes the .deb's library dependencies ($auto); strip and gzip
# prepare the files. build-essential brings all three on Debian.
for tool in gzip strip $([ "$what" = rpm ] || echo dpkg-shlibdeps); do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "packaging/build.sh: $tool is missing (apt-get install build-essential dpkg-dev)" >&2
        exit 1
    fi
done

if [ ! -f carbonctl/Cargo.toml ]; then
    echo "packaging/build.sh: carbonctl/ is missing; the packages ship carbonctl" >&2
    exit 1
fi

echo "== cargo build --release (carbond, carbonctl)"
cargo build --release --locked -p carbond -p carbonctl

gen=target/packaging
rm -rf "$gen"
mkdir -p "$gen"/man/man1 "$gen"/man/man5 "$gen"/man/man8 "$gen"/systemd "$gen"/bin \
    "$gen"/rpm "$gen"/completions/bash "$gen"/completions/zsh "$gen"/completions/fish

echo "== man pages and completions"
# carbond(8), carbon.conf(5) and carbond's completions, from carbond's command line
# and carbon-core's key table (packaging/manpages).
cargo run -q --locked -p carbon-manpages -- "$gen/tmp" >/dev/null
mv "$gen/tmp/carbond.8" "$gen/man/man8/"
mv "$gen/tmp/carbon.conf.5" "$gen/man/man5/"
mv "$gen/tmp/carbond.bash" "$gen/completions/bash/carbond"
mv "$gen/tmp/_carbond" "$gen/completions/zsh/_carbond"
mv "$gen/tmp/carbond.fish" "$gen/completions/fish/carbond.fish"
rmdir "$gen/tmp"
# carbonctl(1) and its sub-command pages, and its completions, from carbonctl's own
# clap definition.
ctl=target/release/carbonctl
"$ctl" generate man "$gen/man/man1"
"$ctl" generate completions bash >"$gen/completions/bash/carbonctl"
"$ctl" generate completions zsh >"$gen/completions/zsh/_carbonctl"
"$ctl" generate completions fish >"$gen/completions/fish/carbonctl.fish"
# Debian policy 12.1: man pages compressed with gzip -9, without timestamps (-n).
gzip -9n "$gen"/man/man*/*

echo "== systemd units with the installed paths"
# etc/systemd/ names /usr/bin/carbond (a from-source install); the packages put the
# daemon in /usr/sbin and the documentation in /usr/share/doc/carbon.
for u in etc/systemd/*.service etc/systemd/*.socket; do
    sed -e 's#/usr/bin/carbond#/usr/sbin/carbond#g' \
        -e 's#^Documentation=file:///usr/share/doc/carbond/#Documentation=man:carbond(8) file:///usr/share/doc/carbon/#' \
        "$u" >"$gen/systemd/$(basename "$u")"
done

mkdir -p target/packages
if [ "$what" != rpm ]; then
    echo "== cargo deb"
    # --strip: the release profile keeps line tables (debug = 1) for profiling;
    # the package ships stripped binaries.
    # cargo-deb warns that ../target/packaging/ is not cargo's output directory:
    # expected, those are the files generated above.
    rm -f target/packages/carbon_*.deb
    cargo deb -p carbond --no-build --strip --output target/packages/
fi
if [ "$what" != deb ]; then
    echo "== cargo generate-rpm"
    strip -o "$gen/bin/carbond" target/release/carbond
    strip -o "$gen/bin/carbonctl" target/release/carbonctl
    # %pre: the user from the same sysusers.d file, as %sysusers_create_package does
    # (the file itself is not installed yet when %pre runs).
    {
        echo "# %pre: create the carbon user, as %sysusers_create_package does."
        echo "systemd-sysusers --replace=/usr/lib/sysusers.d/carbon.conf - <<'SYSUSERS' || :"
        cat packaging/common/carbon.sysusers
        echo "SYSUSERS"
    } >"$gen/rpm/pre"
    rm -f target/packages/carbon-*.rpm
    cargo generate-rpm -p carbond -o target/packages/
fi

echo "== packages"
ls -l target/packages/
