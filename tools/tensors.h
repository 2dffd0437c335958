/* Reading user tensors from safetensors files for `recur train --data` and `recur infer`: dtype
 * conversion with range checks, and messages that name the file, the tensor and what was expected. */
#ifndef RECUR_CLI_TENSORS_H
#define RECUR_CLI_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "recur/safetensors.h"

/* "(2, 20, 1)" */
void shape_str(const recur_st_tensor *t, char *buf, size_t size);

/* Integer tensor (int32, int64, int16, int8, uint8) to a new int32 array; int64 values outside int32 are
 * refused naming the element. Float tensors are refused. */
int tensor_to_i32(const char *file, const recur_st_tensor *t, int32_t **out);
/* Float tensor (float32, float64) to a new float array; non-finite values are refused naming the element. */
int tensor_to_f32(const char *file, const recur_st_tensor *t, float **out);
int dtype_is_int(int dtype);
int dtype_is_float(int dtype);

#endif
