#!/usr/bin/env python3
# Prints the SIZE/FIELD rows of tests/test_abi_layout.c from include/recur/backend.h (run from anywhere).
import os,re,subprocess
ROOT=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..')
hdr=open(os.path.join(ROOT,'include/recur/backend.h')).read()
structs={}
for m in re.finditer(r'typedef struct (recur_\w+) \{(.*?)\n\} \1;', hdr, re.S):
    name,body=m.group(1),m.group(2)
    body=re.sub(r'/\*.*?\*/','',body,flags=re.S)
    fields=[]
    for stmt in body.split(';'):
        stmt=stmt.strip()
        if not stmt: continue
        fm=re.search(r'\(\*(\w+)\)\(',stmt)
        if fm: fields.append(fm.group(1)); continue
        # plain fields: may be "uint32_t a" or "char name[128]"
        stmt=re.sub(r'\b(const|struct|unsigned)\s+','',stmt)
        decl=stmt.split(None,1)
        for part in decl[1].split(','):
            part=part.strip().lstrip('*').strip()
            fields.append(re.match(r'\w+',part).group(0))
    structs[name]=fields
prog=['#include <stdio.h>','#include <stddef.h>','#include "recur/backend.h"','int main(void){']
for s,f in structs.items():
    prog.append(f'printf("S {s} %zu\\n", sizeof({s}));')
    for x in f: prog.append(f'printf("F {s} {x} %zu\\n", offsetof({s},{x}));')
prog.append('return 0;}')
open('/tmp/abi.c','w').write('\n'.join(prog))
subprocess.check_call(['gcc','-I'+os.path.join(ROOT,'include'),'/tmp/abi.c','-o','/tmp/abi'])
out=subprocess.check_output(['/tmp/abi']).decode().split('\n')
lines=[]
for l in out:
    if not l: continue
    p=l.split()
    if p[0]=='S': lines.append(f'    SIZE({p[1]}, {p[2]}),')
    else: lines.append(f'    FIELD({p[1]}, {p[2]}, {p[3]}),')
print('\n'.join(lines))
