// The training stage's checkpoints and state file (see checkpoint.hpp).
#include "mpi_stages/train/checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/engine/spool.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;

namespace dhs::stages::train {

std::string to_json(const TrainState& s) {
    nlohmann::json h = nlohmann::json::array();
    for (const auto& r : s.history)
        h.push_back({{"epoch", r.epoch}, {"steps", r.steps}, {"train_loss", r.train_loss}, {"val_loss", r.val_loss},
                     {"val_auc", r.val_auc}, {"lr", r.lr}, {"images_per_s", r.images_per_s},
                     {"data_wait_fraction", r.data_wait_fraction}, {"seconds", r.seconds}});
    return nlohmann::json{{"epoch", s.epoch}, {"step", s.step}, {"global_step", s.global_step},
                          {"best_auc", s.best_auc}, {"best_epoch", s.best_epoch}, {"bad_epochs", s.bad_epochs},
                          {"finished", s.finished}, {"stop_reason", s.stop_reason}, {"checkpoint", s.checkpoint},
                          {"history", h}}
        .dump(1);
}

TrainState state_from_json(const std::string& text, const std::string& origin) {
    try {
        const auto j = nlohmann::json::parse(text);
        TrainState s;
        s.epoch = j.at("epoch");
        s.step = j.at("step");
        s.global_step = j.at("global_step");
        s.best_auc = j.at("best_auc");
        s.best_epoch = j.at("best_epoch");
        s.bad_epochs = j.at("bad_epochs");
        s.finished = j.at("finished");
        s.stop_reason = j.at("stop_reason");
        s.checkpoint = j.at("checkpoint");
        for (const auto& r : j.at("history"))
            s.history.push_back({r.at("epoch"), r.at("steps"), r.at("train_loss"), r.at("val_loss"), r.at("val_auc"),
                                 r.at("lr"), r.at("images_per_s"), r.at("data_wait_fraction"), r.at("seconds")});
        return s;
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("'{}' is not a training state: {}", origin, e.what()));
    }
}

void write_file_atomically(const std::string& dir, const std::string& name, const void* data, std::size_t size) {
    const std::string path = (fs::path(dir) / name).string(), tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw Error(fmt::format("cannot write '{}': {}", tmp, std::strerror(errno)));
    const char* p = static_cast<const char*>(data);
    std::size_t left = size;
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            ::close(fd);
            throw Error(fmt::format("cannot write '{}': {}", tmp, std::strerror(errno)));
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) throw Error(fmt::format("cannot fsync '{}': {}", tmp, std::strerror(errno)));
    fs::rename(tmp, path);
    engine::fsync_directory(dir);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fmt::format("cannot read '{}'", path));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void save_checkpoint(const std::string& model_dir, TrainState& state, const std::string& bytes) {
    const std::string previous = state.checkpoint;
    state.checkpoint = fmt::format("checkpoint-{:09d}.pt", state.global_step);
    write_file_atomically(model_dir, state.checkpoint, bytes.data(), bytes.size());
    const std::string json = to_json(state);
    write_file_atomically(model_dir, "state.json", json.data(), json.size());
    if (!previous.empty() && previous != state.checkpoint) fs::remove(fs::path(model_dir) / previous);
}

TrainState load_state(const std::string& model_dir) {
    const std::string path = (fs::path(model_dir) / "state.json").string();
    if (!fs::exists(path)) return {};
    TrainState s = state_from_json(read_file(path), path);
    if (!s.checkpoint.empty() && !fs::exists(fs::path(model_dir) / s.checkpoint))
        throw Error(fmt::format("'{}' names checkpoint '{}', which is missing", path, s.checkpoint));
    return s;
}

void clear_checkpoints(const std::string& model_dir) {
    if (!fs::exists(model_dir)) return;
    for (const auto& e : fs::directory_iterator(model_dir)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("checkpoint-", 0) == 0 || n == "state.json" || n.ends_with(".tmp")) fs::remove(e.path());
    }
}

}  // namespace dhs::stages::train
