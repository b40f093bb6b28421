#include "kernels/cuda/device.hpp"

#include <sstream>
#include <utility>

#include "kernels/cuda/cuda_check.hpp"

namespace c2r::cuda {

namespace {

// "13.0" from CUDA's 13000.
std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

}  // namespace

int device_count() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaSuccess) return count;
  cudaGetLastError();  // clear the sticky error
  if (status == cudaErrorNoDevice) return 0;
  // No NVIDIA driver at all (cudaDriverGetVersion reports 0): a machine without NVIDIA GPUs. A
  // driver that is there but cannot serve this runtime is an error, not an absent device.
  int driver = 0, runtime = 0;
  const bool driver_known = cudaDriverGetVersion(&driver) == cudaSuccess;
  if (status == cudaErrorInsufficientDriver && driver_known && driver == 0) return 0;
  cudaRuntimeGetVersion(&runtime);
  std::ostringstream message;
  message << "cudaGetDeviceCount failed: " << cudaGetErrorString(status) << " (CUDA runtime "
          << cuda_version_text(runtime) << ", driver "
          << (driver_known && driver > 0 ? "supporting CUDA " + cuda_version_text(driver)
                                         : std::string("unknown"))
          << "): the GPUs cannot be used";
  if (status == cudaErrorInsufficientDriver) {
    message << "; install a driver that supports CUDA " << cuda_version_text(runtime);
  }
  throw Error(message.str());
}

std::string device_description() {
  int device = 0;
  C2R_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  C2R_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  std::ostringstream out;
  out << prop.name << " (sm_" << prop.major << prop.minor << ", "
      << prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0) << " GiB)";
  return out.str();
}

template <typename T>
DeviceBuffer<T>::DeviceBuffer(size_t size) : size_(size) {
  if (size_ > 0) C2R_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), size_ * sizeof(T)));
}

template <typename T>
DeviceBuffer<T>::DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
  upload(host);
}

template <typename T>
DeviceBuffer<T>::~DeviceBuffer() {
  if (data_) cudaFree(data_);
}

template <typename T>
DeviceBuffer<T>::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

template <typename T>
DeviceBuffer<T>& DeviceBuffer<T>::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (data_) cudaFree(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

template <typename T>
void DeviceBuffer<T>::upload(const std::vector<T>& host) {
  C2R_CHECK(host.size() == size_,
            "upload of " << host.size() << " values into a device buffer of " << size_);
  if (size_ > 0) {
    C2R_CUDA_CHECK(cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice));
  }
}

template <typename T>
std::vector<T> DeviceBuffer<T>::download() const {
  std::vector<T> host(size_);
  if (size_ > 0) {
    C2R_CUDA_CHECK(cudaMemcpy(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost));
  }
  return host;
}

template class DeviceBuffer<float>;
template class DeviceBuffer<int32_t>;
template class DeviceBuffer<int64_t>;
template class DeviceBuffer<uint16_t>;

Blas::Blas() {
  cublasHandle_t handle = nullptr;
  C2R_CUBLAS_CHECK(cublasCreate(&handle));
  handle_ = handle;
}

Blas::~Blas() {
  if (handle_) cublasDestroy(static_cast<cublasHandle_t>(handle_));
}

void synchronize() {
  C2R_CUDA_CHECK(cudaDeviceSynchronize());
}

EventTimer::EventTimer() {
  cudaEvent_t start = nullptr, stop = nullptr;
  C2R_CUDA_CHECK(cudaEventCreate(&start));
  C2R_CUDA_CHECK(cudaEventCreate(&stop));
  start_ = start;
  stop_ = stop;
}

EventTimer::~EventTimer() {
  if (start_) cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  if (stop_) cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}

void EventTimer::start() {
  C2R_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(start_)));
}

double EventTimer::stop_ms() {
  C2R_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(stop_)));
  C2R_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(stop_)));
  float ms = 0.0f;
  C2R_CUDA_CHECK(
      cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), static_cast<cudaEvent_t>(stop_)));
  return ms;
}

void zero_device(void* dst, size_t bytes) {
  C2R_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes));
}

void copy_device(void* dst, const void* src, size_t bytes) {
  C2R_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice));
}

}  // namespace c2r::cuda
