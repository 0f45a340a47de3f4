/* Stub <dlfcn.h> for macOS 14.  Source: dlopen(3). */
#ifndef _STUB_DLFCN_H_
#define _STUB_DLFCN_H_

/* dlopen(3) */
#define RTLD_NEXT ((void *)-1)
void *dlsym(void *handle, const char *symbol);

#endif
