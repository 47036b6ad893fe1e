/**
 * OpenZFS 2.2's usage text, copied from `get_usage()` and `usage()` in cmd/zfs/zfs_main.c, so that
 * capability detection is tested against what a real zfs prints. Only the property table of
 * `list`/`get`/`set` is abridged (real zfs prints every property; zferry never parses it).
 */
import { Exit, err, out } from "./_exit.ts";

/** Command table order; null is the blank line between groups. */
const COMMANDS: (string | null)[] = [
  "version", null,
  "create", "destroy", null,
  "snapshot", "rollback", "clone", "promote", "rename", "bookmark", "program", null,
  "list", null,
  "set", "get", "inherit", "upgrade", null,
  "userspace", "groupspace", "projectspace", null,
  "project", null,
  "mount", "unmount", "share", "unshare", null,
  "send", "receive", null,
  "allow", null,
  "unallow", null,
  "hold", "holds", "release", "diff", "load-key", "unload-key", "change-key", "redact", "wait",
  "zone", "unzone",
];

const USAGE: Record<string, string> = {
  clone: "\tclone [-p] [-o property=value] ... <snapshot> <filesystem|volume>\n",
  create:
    "\tcreate [-Pnpuv] [-o property=value] ... <filesystem>\n" +
    "\tcreate [-Pnpsv] [-b blocksize] [-o property=value] ... -V <size> <volume>\n",
  destroy:
    "\tdestroy [-fnpRrv] <filesystem|volume>\n" +
    "\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]\n" +
    "\tdestroy <filesystem|volume>#<bookmark>\n",
  get:
    '\tget [-rHp] [-d max] [-o "all" | field[,...]]\n' +
    "\t    [-t type[,...]] [-s source[,...]]\n" +
    '\t    <"all" | property[,...]> [filesystem|volume|snapshot|bookmark] ...\n',
  inherit: "\tinherit [-rS] <property> <filesystem|volume|snapshot> ...\n",
  upgrade: "\tupgrade [-v]\n\tupgrade [-r] [-V version] <-a | filesystem ...>\n",
  list:
    "\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...\n" +
    "\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...\n",
  mount: "\tmount\n\tmount [-flvO] [-o opts] <-a|-R filesystem|filesystem>\n",
  promote: "\tpromote <clone-filesystem>\n",
  receive:
    "\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...\n" +
    "\t    <filesystem|volume|snapshot>\n" +
    "\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ... \n" +
    "\t    [-d | -e] <filesystem>\n" +
    "\treceive -A <filesystem|volume>\n",
  rename:
    "\trename [-f] <filesystem|volume|snapshot> <filesystem|volume|snapshot>\n" +
    "\trename -p [-f] <filesystem|volume> <filesystem|volume>\n" +
    "\trename -u [-f] <filesystem> <filesystem>\n" +
    "\trename -r <snapshot> <snapshot>\n",
  rollback: "\trollback [-rRf] <snapshot>\n",
  send:
    "\tsend [-DLPbcehnpsVvw] [-i|-I snapshot]\n" +
    "\t     [-R [-X dataset[,dataset]...]]     <snapshot>\n" +
    "\tsend [-DnVvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>\n" +
    "\tsend [-DnPpVvLec] [-i bookmark|snapshot] --redact <bookmark> <snapshot>\n" +
    "\tsend [-nVvPe] -t <receive_resume_token>\n" +
    "\tsend [-PnVv] --saved filesystem\n",
  set: "\tset [-u] <property=value> ... <filesystem|volume|snapshot> ...\n",
  share: "\tshare [-l] <-a [nfs|smb] | filesystem>\n",
  snapshot: "\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n",
  unmount: "\tunmount [-fu] <-a | filesystem|mountpoint>\n",
  unshare: "\tunshare <-a [nfs|smb] | filesystem|mountpoint>\n",
  allow:
    "\tallow <filesystem|volume>\n" +
    '\tallow [-ldug] <"everyone"|user|group>[,...] <perm|@setname>[,...]\n' +
    "\t    <filesystem|volume>\n" +
    "\tallow [-ld] -e <perm|@setname>[,...] <filesystem|volume>\n" +
    "\tallow -c <perm|@setname>[,...] <filesystem|volume>\n" +
    "\tallow -s @setname <perm|@setname>[,...] <filesystem|volume>\n",
  unallow:
    '\tunallow [-rldug] <"everyone"|user|group>[,...]\n' +
    "\t    [<perm|@setname>[,...]] <filesystem|volume>\n" +
    "\tunallow [-rld] -e [<perm|@setname>[,...]] <filesystem|volume>\n" +
    "\tunallow [-r] -c [<perm|@setname>[,...]] <filesystem|volume>\n" +
    "\tunallow [-r] -s @setname [<perm|@setname>[,...]] <filesystem|volume>\n",
  userspace:
    "\tuserspace [-Hinp] [-o field[,...]] [-s field] ...\n" +
    "\t    [-S field] ... [-t type[,...]] <filesystem|snapshot|path>\n",
  groupspace:
    "\tgroupspace [-Hinp] [-o field[,...]] [-s field] ...\n" +
    "\t    [-S field] ... [-t type[,...]] <filesystem|snapshot|path>\n",
  projectspace:
    "\tprojectspace [-Hp] [-o field[,...]] [-s field] ... \n" +
    "\t    [-S field] ... <filesystem|snapshot|path>\n",
  project:
    "\tproject [-d|-r] <directory|file ...>\n" +
    "\tproject -c [-0] [-d|-r] [-p id] <directory|file ...>\n" +
    "\tproject -C [-k] [-r] <directory ...>\n" +
    "\tproject [-p id] [-r] [-s] <directory ...>\n",
  hold: "\thold [-r] <tag> <snapshot> ...\n",
  holds: "\tholds [-rHp] <snapshot> ...\n",
  release: "\trelease [-r] <tag> <snapshot> ...\n",
  diff: "\tdiff [-FHth] <snapshot> [snapshot|filesystem]\n",
  bookmark: "\tbookmark <snapshot|bookmark> <newbookmark>\n",
  program: "\tprogram [-jn] [-t <instruction limit>] [-m <memory limit (b)>]\n\t    <pool> <program file> [lua args...]\n",
  "load-key": "\tload-key [-rn] [-L <keylocation>] <-a | filesystem|volume>\n",
  "unload-key": "\tunload-key [-r] <-a | filesystem|volume>\n",
  "change-key":
    "\tchange-key [-l] [-o keyformat=<value>]\n" +
    "\t    [-o keylocation=<value>] [-o pbkdf2iters=<value>]\n" +
    "\t    <filesystem|volume>\n" +
    "\tchange-key -i [-l] <filesystem|volume>\n",
  version: "\tversion\n",
  redact: "\tredact <snapshot> <bookmark> <redaction_snapshot> ...\n",
  wait: "\twait [-t <activity>] <filesystem>\n",
  zone: "\tzone <nsfile> <filesystem>\n",
  unzone: "\tunzone <nsfile> <filesystem>\n",
};

// Abridged: the real table lists every dataset property.
const PROPERTY_TABLE =
  "\nThe following properties are supported:\n\n" +
  "\tPROPERTY       EDIT  INHERIT   VALUES\n\n" +
  "\tavailable        NO       NO   <size>\n" +
  "\tcreatetxg        NO       NO   <uint64>\n" +
  "\tcreation         NO       NO   <date>\n" +
  "\tguid             NO       NO   <uint64>\n" +
  "\treceive_resume_token  NO       NO   <string token>\n" +
  "\treferenced       NO       NO   <size>\n" +
  "\ttype             NO       NO   filesystem | volume | snapshot | bookmark\n" +
  "\tused             NO       NO   <size>\n" +
  "\tmountpoint      YES      YES   <path> | legacy | none\n" +
  "\treadonly        YES      YES   on | off\n" +
  "\nSizes are specified in bytes with standard units such as K, M, G, etc.\n" +
  "\nUser-defined properties can be specified by using a name containing a colon (:).\n";

const FOOTER =
  "\nFor the property list, run: zfs set|get\n" +
  "\nFor the delegated permission list, run: zfs allow|unallow\n" +
  "\nFor further help on a command or topic, run: zfs help [<topic>]\n";

export function isCommand(name: string): boolean {
  return name in USAGE;
}

/** The text `usage()` prints; `command` null for the top-level usage. */
export function usageText(command: string | null): string {
  if (command === null) {
    let text = "usage: zfs command args ...\nwhere 'command' is one of the following:\n\n";
    for (const name of COMMANDS) text += name === null ? "\n" : USAGE[name];
    return `${text}\nEach dataset is of the form: pool/[dataset/]*dataset[@name]\n${FOOTER}`;
  }
  const withProps = ["set", "get", "inherit", "list"].includes(command);
  return `usage:\n${USAGE[command]}${withProps ? PROPERTY_TABLE : FOOTER}`;
}

/** `usage(B_FALSE)`: usage on stderr, exit 2; with `requested`, on stdout and exit 0. */
export function usage(command: string | null, requested = false): never {
  if (requested) out(usageText(command));
  else err(usageText(command));
  throw new Exit(requested ? 0 : 2);
}

/** An error line followed by the command's usage, as zfs does for bad arguments. */
export function usageError(command: string, message: string): never {
  err(`${message}\n`);
  usage(command);
}
