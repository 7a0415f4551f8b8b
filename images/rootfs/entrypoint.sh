#!/bin/sh
# The image's entry point: dispatches the args the rendered manifests pass (the same as Fluid's
# GooseFS images) to the goosefs binary, and runs the init-users steps of Fluid's init-users image.
set -eu

# init-users: FLUID_INIT_USERS is "uid:user:gid,gid:group"; /tmp/passwd and /tmp/group are the
# hostPath files the other containers mount as /etc/passwd and /etc/group.
init_users() {
  uid_user_gid=${FLUID_INIT_USERS%%,*}
  gid_group=${FLUID_INIT_USERS#*,}
  uid=${uid_user_gid%%:*}; rest=${uid_user_gid#*:}
  user=${rest%%:*}; gid=${rest#*:}
  group=${gid_group#*:}
  cp /etc/passwd /tmp/passwd
  cp /etc/group /tmp/group
  echo "$user:x:$uid:$gid::/home/$user:/bin/sh" >> /tmp/passwd
  echo "$group:x:$gid:" >> /tmp/group
}

# The tier directories (colon-separated) and the FUSE mount point's parent must be writable by
# the runAs user.
chmod_tierpath() {
  old_ifs=$IFS; IFS=:
  for p in ${FLUID_TIERSTORE_PATHS:-}; do [ -n "$p" ] && mkdir -p "$p" && chmod 0777 "$p"; done
  IFS=$old_ifs
}

chmod_fuse_mountpoint() {
  mkdir -p "$FLUID_FUSE_MOUNTPOINT" && chmod 0777 "$FLUID_FUSE_MOUNTPOINT"
}

case "${1:-}" in
  master-only | job-master | worker-only | job-worker | proxy | fuse | fs | fsadmin)
    exec /usr/bin/goosefs "$@" ;;
  init_users | chmod_tierpath | chmod_fuse_mountpoint)
    for step in "$@"; do
      case "$step" in
        init_users | chmod_tierpath | chmod_fuse_mountpoint) "$step" ;;
        *) echo "entrypoint: unknown init step $step" >&2; exit 2 ;;
      esac
    done ;;
  "") exec /usr/bin/goosefs --help ;;
  *) exec "$@" ;;
esac
