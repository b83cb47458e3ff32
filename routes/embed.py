# routes/embed.py - turns a text file into a C string constant at build time, so the
# service carries its templates inside the binary: embed.py INPUT OUTPUT NAME
import sys

data = open(sys.argv[1], 'rb').read()


def c_char(b):
    # octal escapes take at most three digits, so a following digit cannot extend them
    if b == 0x0a:
        return '\\n'
    if b < 0x20 or b >= 0x7f or b in (0x22, 0x5c, 0x3f):
        return '\\%03o' % b
    return chr(b)


out = ['/* generated from %s by routes/embed.py; do not edit */' % sys.argv[1].split('/')[-1],
       'static const char %s[] =' % sys.argv[3]]
for line in data.splitlines(keepends=True) or [b'']:
    out.append('    "%s"' % ''.join(c_char(b) for b in line))
out[-1] += ';'
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
