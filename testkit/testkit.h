/*
 * testkit.h — the test kit shared by the pins' fake hosts, the bench host
 * and the fuzz host (testkit/README.md):
 *   tk_frame.h    guest-frame builders that take a spec struct
 *   tk_capture.h  the core's frames to the guest, captured and parsed once
 *   tk_socks.h    the token-indexed socket table and stream buffers
 *   tk_script.h   scripted host results
 */
#ifndef VNAT_TESTKIT_H
#define VNAT_TESTKIT_H

#include "tk_capture.h"
#include "tk_frame.h"
#include "tk_script.h"
#include "tk_socks.h"

#endif
