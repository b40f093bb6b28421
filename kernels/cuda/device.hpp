#pragma once
// CUDA device basics for the GPU kernels: device discovery, owned device buffers and a cuBLAS
// handle. Plain C++ header (no CUDA headers), so host code and tests include it with any compiler.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace c2r::cuda {

// Devices this process can use: 0 where there is no device or no NVIDIA driver at all. Any other
// failure (a driver too old for this CUDA runtime, a broken installation) throws c2r::Error
// naming the runtime and driver versions: a machine with GPUs that cannot be used is not a machine
// without GPUs, and must not turn every GPU test into a skip.
int device_count();
// "NAME (sm_XY, N GiB)" of the current device.
std::string device_description();

// An owned array of `size` T in device memory. Movable, not copyable.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t size);
  explicit DeviceBuffer(const std::vector<T>& host);  // allocates and uploads
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  // Reallocates (contents not kept) when smaller than `size` elements: sized by the first run of a
  // loop, reused without allocating afterwards.
  void grow(size_t size) {
    if (size_ < size) *this = DeviceBuffer(size);
  }
  void upload(const std::vector<T>& host);  // host.size() must equal size()
  std::vector<T> download() const;          // synchronous

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

// One cuBLAS handle for the calling thread's current device.
class Blas {
 public:
  Blas();
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;
  void* handle() const { return handle_; }  // a cublasHandle_t

 private:
  void* handle_ = nullptr;
};

// Waits for every kernel launched so far; throws c2r::Error on an asynchronous failure.
void synchronize();

// Times the device work enqueued between start() and stop_ms() with CUDA events.
class EventTimer {
 public:
  EventTimer();
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void start();
  double stop_ms();  // waits for the stop event

 private:
  void* start_ = nullptr;  // cudaEvent_t
  void* stop_ = nullptr;
};

// Sets `bytes` of device memory to zero (asynchronously).
void zero_device(void* dst, size_t bytes);

// Device-to-device copy of `bytes`: the bandwidth ceiling of the permute kernels.
void copy_device(void* dst, const void* src, size_t bytes);

}  // namespace c2r::cuda
