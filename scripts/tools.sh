# Sourced by scripts/test.sh and scripts/soak.sh (from the repository root): installs the
# tools the integration tests start and exports the variables that name them. Each function
# installs only what is missing or out of date, and names the calling script in its errors.
#
#   tools_azurite    Azurite (Microsoft's Blob Storage emulator, from npm) into .tools/azurite
#                    at the version pinned in scripts/azurite/package-lock.json; exports
#                    KVAUDIT_AZURITE (the Blob Storage tests start it on a free port each).
#   tools_smtp       aiosmtpd (a real SMTP server, from PyPI) into the virtual environment
#                    .tools/smtp at the versions pinned in scripts/smtp/requirements.txt;
#                    exports KVAUDIT_SMTP_PYTHON (the delivery tests start
#                    scripts/smtp/smtp_server.py with it).
#   tools_chromium   headless Chromium (Debian's `chromium` package, installed when
#                    /usr/bin/chromium is missing; CI runs as root in a fresh clone); exports
#                    KVAUDIT_CHROMIUM (the dashboard test drives it).

tools_azurite() {
    if ! command -v npm >/dev/null; then
        echo "$(basename "$0"): npm is missing: the Blob Storage tests need Node.js 18+ and npm to install Azurite" >&2
        exit 1
    fi
    local dir=.tools/azurite
    if [ ! -x "$dir/node_modules/.bin/azurite-blob" ] \
        || ! cmp -s scripts/azurite/package-lock.json "$dir/package-lock.json"; then
        mkdir -p "$dir"
        cp scripts/azurite/package.json scripts/azurite/package-lock.json "$dir/"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    export KVAUDIT_AZURITE="$PWD/$dir/node_modules/.bin/azurite-blob"
}

tools_smtp() {
    if ! command -v python3 >/dev/null; then
        echo "$(basename "$0"): python3 is missing: the email delivery tests need Python 3.9+ to run aiosmtpd" >&2
        exit 1
    fi
    local dir=.tools/smtp
    if [ ! -x "$dir/bin/python" ] || ! cmp -s scripts/smtp/requirements.txt "$dir/requirements.txt"; then
        rm -rf "$dir"
        python3 -m venv "$dir"
        "$dir/bin/pip" install --quiet --disable-pip-version-check -r scripts/smtp/requirements.txt
        cp scripts/smtp/requirements.txt "$dir/requirements.txt"
    fi
    export KVAUDIT_SMTP_PYTHON="$PWD/$dir/bin/python"
}

tools_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        if ! command -v apt-get >/dev/null; then
            echo "$(basename "$0"): /usr/bin/chromium is missing and there is no apt-get: install Debian's chromium package" >&2
            exit 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    export KVAUDIT_CHROMIUM=/usr/bin/chromium
}
